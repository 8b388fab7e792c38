"""What a run shows on the terminal: what the run is, its progress and its result."""
import contextlib
import os
import re

from lamm.errors import ConfigError

VERBOSE_ENV = "LAMM_VERBOSE"

# Set-up lines that say nothing the run block has not said; they stay in log.txt.
CHATTER = re.compile("|".join([
    r"Setting fixed seed: ",
    r"Loading (trainer|dataset|evaluator): ",
    r"Reading split from ",
    r"Creating a \d+-shot dataset$",
    r"(Loading|Saving) preprocessed few-shot data ",
    r"Building transform_(train|test)$",
    r"\+ ",  # the transforms, one per line
    r"-+( +-+)+$", r"(Dataset|# classes|# train_x|# train_u|# val|# test) ",  # the dataset table
    r"Loading CLIP \(backbone: ",
    r"Building custom CLIP$",
    r"Text tower activation checkpointing: ",
    r"Freed memory returned to the OS: ",
    r"Parameters to be updated: ",
    r"Loss terms and weights: ",
    r"Label layout: ",
    r"Prompts: ",
    r"Initialize tensorboard ",
    r"No checkpoint found, train from scratch$",
    r"Checkpoint saved to ",
    r"Finished training$", r"Finish training$",
    r"Deploy the (last-epoch|best) model$",
]))


def verbose_from_env(environ=os.environ) -> bool:
    """LAMM_VERBOSE: 1 (or true/yes/on) shows everything; unset, empty or 0 (false/no/off) does not."""
    value = environ.get(VERBOSE_ENV, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{VERBOSE_ENV}={environ[VERBOSE_ENV]!r}: use {VERBOSE_ENV}=1 to show the full config and "
                      "environment on the terminal, or 0 (the default) for what the run is, its progress and result.")


class TerminalFilter:
    """A terminal stream that hides chatter and ``log_only()`` blocks unless ``verbose``."""

    def __init__(self, terminal, verbose=False):
        self.terminal = terminal
        self.verbose = verbose
        self._hidden = 0
        self._pending = ""

    def shows(self, line: str) -> bool:
        return self.verbose or (not self._hidden and not CHATTER.match(line))

    def write(self, text: str) -> int:
        if self.verbose:
            return self.terminal.write(text)
        self._pending += text
        *lines, self._pending = re.split(r"(?<=[\n\r])", self._pending)  # a line ends at \n (or \r: tqdm)
        for line in lines:
            if self.shows(line.rstrip("\r\n")):
                self.terminal.write(line)
        return len(text)

    @contextlib.contextmanager
    def log_only(self):
        """What is printed inside goes to log.txt (and to the screen only when verbose)."""
        self._end_line()
        self._hidden += 1
        try:
            yield
        finally:
            self._end_line()
            self._hidden -= 1

    def _end_line(self):
        if self._pending and self.shows(self._pending):
            self.terminal.write(self._pending)
        self._pending = ""

    def flush(self):  # a line is shown or not when it is complete: a part of one waits
        self.terminal.flush()

    def close(self):  # Dassl's Logger closes the stream under it when it goes: keep the terminal open
        self._end_line()
        self.terminal.flush()

    def isatty(self):
        return self.terminal.isatty()

    def fileno(self):
        return self.terminal.fileno()

    @property
    def encoding(self):
        return getattr(self.terminal, "encoding", "utf-8")


def run_block(cfg, args, trainer_class, device: str, verbose=False) -> str:
    """What the run is, in a few lines: the first thing it shows."""
    from lamm.precision import describe_precision

    shots = "all images" if cfg.DATASET.NUM_SHOTS < 1 else f"{cfg.DATASET.NUM_SHOTS} shots"
    subsample = cfg.DATASET.get("SUBSAMPLE_CLASSES", "all")
    classes = "" if subsample == "all" else f" ({subsample} classes)"
    seed = f"seed {cfg.SEED}" if cfg.SEED >= 0 else "no fixed seed"
    if not args.eval_only:
        what = f"training, {cfg.OPTIM.MAX_EPOCH} epochs" + (f", resumed from {cfg.RESUME}" if cfg.RESUME else "")
    elif args.model_dir:
        what = f"evaluation of {args.model_dir}" + (f" at epoch {args.load_epoch}" if args.load_epoch else "")
    else:
        what = "evaluation" + ("" if getattr(trainer_class, "trains_nothing", False) else " of untrained prompts")
    node = getattr(trainer_class, "options_node", None)
    precision = f", precision {describe_precision(cfg.TRAINER[node].PREC, device)}" if node in cfg.TRAINER else ""
    files = "" if verbose else " (config.yaml: the full config, env.txt: the environment, log.txt: every line)"
    return "\n".join([
        f"{cfg.TRAINER.NAME} on {cfg.DATASET.NAME}{classes}, {shots}, {seed}: {what}",
        f"  config   {args.config_file or '(defaults)'}" + (f" + {' '.join(args.opts)}" if args.opts else ""),
        f"  backbone {cfg.MODEL.BACKBONE.NAME} on the {device.upper() if device == 'cpu' else 'GPU'}{precision}",
        f"  output   {cfg.OUTPUT_DIR}{files}",
    ])
