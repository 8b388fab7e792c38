"""Datum and DatasetBase.

The module path matters: CoOp-style few-shot caches pickle
``dassl.data.datasets.base_dataset.Datum`` objects.
"""
import random
from collections import defaultdict

from dassl.utils import check_isfile


class Datum:
    """One sample: image path, label, domain and class name.

    The image file must exist when the Datum is created (unpickling does
    not check again). All four attributes are read-only.
    """

    def __init__(self, impath="", label=0, domain=0, classname=""):
        assert isinstance(impath, str)
        assert check_isfile(impath)
        self._impath = impath
        self._label = label
        self._domain = domain
        self._classname = classname

    impath = property(lambda self: self._impath)
    label = property(lambda self: self._label)
    domain = property(lambda self: self._domain)
    classname = property(lambda self: self._classname)


class DatasetBase:
    """Container of the train_x / train_u / val / test lists of Datum.

    ``num_classes``, ``lab2cname`` and ``classnames`` are derived from
    train_x only.
    """

    dataset_dir = ""
    domains = []

    def __init__(self, train_x=None, train_u=None, val=None, test=None):
        self._train_x = train_x
        self._train_u = train_u
        self._val = val
        self._test = test
        self._num_classes = self.get_num_classes(train_x)
        self._lab2cname, self._classnames = self.get_lab2cname(train_x)

    train_x = property(lambda self: self._train_x)
    train_u = property(lambda self: self._train_u)
    val = property(lambda self: self._val)
    test = property(lambda self: self._test)
    lab2cname = property(lambda self: self._lab2cname)
    classnames = property(lambda self: self._classnames)
    num_classes = property(lambda self: self._num_classes)

    @staticmethod
    def get_num_classes(data_source):
        """Largest label + 1."""
        return max({item.label for item in data_source}) + 1

    @staticmethod
    def get_lab2cname(data_source):
        """``({label: classname}, [classnames sorted by label])``.

        Built, like Dassl, from the *set* of (label, classname) pairs.
        """
        pairs = {(item.label, item.classname) for item in data_source}
        mapping = {label: cname for label, cname in pairs}
        classnames = [mapping[label] for label in sorted(mapping)]
        return mapping, classnames

    def check_input_domains(self, source_domains, target_domains):
        assert len(source_domains) > 0, "source_domains (list) is empty"
        assert len(target_domains) > 0, "target_domains (list) is empty"
        self.is_input_domain_valid(source_domains)
        self.is_input_domain_valid(target_domains)

    def is_input_domain_valid(self, input_domains):
        for domain in input_domains:
            if domain not in self.domains:
                raise ValueError(
                    f"Input domain must belong to {self.domains}, "
                    f"but got [{domain}]"
                )

    def generate_fewshot_dataset(
        self, *data_sources, num_shots=-1, repeat=False
    ):
        """Keep ``num_shots`` items per label of every data source.

        Labels are visited in first-appearance order. A label with enough
        items gets ``random.sample(items, num_shots)``; otherwise all its
        items, or ``random.choices(items, k=num_shots)`` when ``repeat``.
        Uses Python's global ``random``. With ``num_shots < 1`` the input
        is returned as is. One source gives a list, several a list of lists.
        """
        if num_shots < 1:
            return data_sources[0] if len(data_sources) == 1 else data_sources

        print(f"Creating a {num_shots}-shot dataset")
        results = []
        for source in data_sources:
            picked = []
            for items in self.split_dataset_by_label(source).values():
                if len(items) >= num_shots:
                    picked += random.sample(items, num_shots)
                elif repeat:
                    picked += random.choices(items, k=num_shots)
                else:
                    picked += items
            results.append(picked)
        return results[0] if len(results) == 1 else results

    @staticmethod
    def _group_by(data_source, attr):
        groups = defaultdict(list)
        for item in data_source:
            groups[getattr(item, attr)].append(item)
        return groups

    def split_dataset_by_label(self, data_source):
        """``defaultdict(list)``: label -> items, in first-appearance order."""
        return self._group_by(data_source, "label")

    def split_dataset_by_domain(self, data_source):
        """``defaultdict(list)``: domain -> items, in first-appearance order."""
        return self._group_by(data_source, "domain")
