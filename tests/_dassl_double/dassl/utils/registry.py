"""Name -> class registries (trainers, datasets, evaluators)."""

__all__ = ["Registry"]


class Registry:
    """Maps ``obj.__name__`` to ``obj``.

    ``register()`` works as a decorator or as a plain call. A second object
    with the same name raises KeyError unless ``force=True``; ``get`` of an
    unknown name raises KeyError (the build_* functions check availability
    first and raise ValueError instead).
    """

    def __init__(self, name):
        self._name = name
        self._obj_map = {}

    def _do_register(self, name, obj, force=False):
        if not force and name in self._obj_map:
            raise KeyError(
                f'An object named "{name}" was already registered '
                f'in "{self._name}" registry'
            )
        self._obj_map[name] = obj

    def register(self, obj=None, force=False):
        if obj is not None:
            self._do_register(obj.__name__, obj, force=force)
            return None

        def decorator(fn_or_class):
            self._do_register(fn_or_class.__name__, fn_or_class, force=force)
            return fn_or_class

        return decorator

    def get(self, name):
        try:
            return self._obj_map[name]
        except KeyError:
            raise KeyError(
                f'Object name "{name}" does not exist in "{self._name}" '
                "registry"
            ) from None

    def registered_names(self):
        return list(self._obj_map)
