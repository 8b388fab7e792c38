#!/bin/bash
# Install everything LAMM needs into the active Python environment (or a new .venv).
#
#   bash install.sh [--dev] [--cpu | --cuda] [--no-dassl] [--system]
#
#   --dev       also the test requirements (requirements-test.txt)
#   --cpu       PyTorch's CPU-only build (the default when nvidia-smi is absent)
#   --cuda      PyTorch's default (CUDA) build from PyPI (the default when nvidia-smi is present)
#   --no-dassl  skip Dassl (also LAMM_SKIP_DASSL=1); the tests then use their Dassl double
#   --system    install into the interpreter `python3` on PATH, even with no environment active
#
# Environment: LAMM_PYTHON (the interpreter to install into), DASSL_SOURCE (Dassl's git URL, a
# local clone or an archive .tar.gz/.zip; default: its GitHub repository), LAMM_TORCH (pip
# specifiers for torch, e.g. "torch==2.14.1 torchvision==0.29.1"), LAMM_TORCH_CPU_INDEX.
# Running it again installs nothing that is already there.
set -euo pipefail
cd "$(dirname "$0")"
REPO=$(pwd)

DASSL_COMMIT=c61a1b570ac6333bd50fb5ae06aea59002fb20bb  # the commit CoOp and LAMM were run with
DASSL_DEFAULT_SOURCE=https://github.com/KaiyangZhou/Dassl.pytorch
CPU_INDEX=${LAMM_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}

say() { echo "install.sh: $*"; }
die() { echo "error: $*" >&2; exit 1; }

DEV=0
TORCH_BUILD=auto
SKIP_DASSL=${LAMM_SKIP_DASSL:-0}
SYSTEM=0
for arg in "$@"; do
    case "$arg" in
        --dev) DEV=1 ;;
        --cpu) TORCH_BUILD=cpu ;;
        --cuda) TORCH_BUILD=cuda ;;
        --no-dassl) SKIP_DASSL=1 ;;
        --system) SYSTEM=1 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$arg' (options: --dev --cpu --cuda --no-dassl --system --help)" ;;
    esac
done
[[ " $* " == *" --cpu "* && " $* " == *" --cuda "* ]] \
    && die "--cpu and --cuda exclude each other: give one (--cpu: PyTorch's CPU-only build; --cuda: its CUDA build)"

# ---------------------------------------------------------------- which environment
if [ -n "${LAMM_PYTHON:-}" ]; then
    PY=$(command -v "$LAMM_PYTHON") || die "LAMM_PYTHON=$LAMM_PYTHON is not an interpreter on PATH"
    WHERE="$PY (LAMM_PYTHON)"
elif [ "$SYSTEM" = 1 ]; then
    PY=$(command -v python3) || die "--system: no python3 on PATH"
    WHERE="$PY (--system)"
elif [ -n "${VIRTUAL_ENV:-}" ]; then
    PY=$VIRTUAL_ENV/bin/python
    WHERE="the active virtual environment $VIRTUAL_ENV"
elif [ -n "${CONDA_PREFIX:-}" ]; then
    PY=$CONDA_PREFIX/bin/python
    WHERE="the active conda environment ${CONDA_DEFAULT_ENV:-$CONDA_PREFIX}"
else
    PY=$REPO/.venv/bin/python
    if [ -x "$PY" ]; then
        WHERE="$REPO/.venv (no environment is active; activate it with: source .venv/bin/activate)"
    else
        BASE=$(command -v python3) || die "no python3 on PATH (LAMM needs Python >= 3.9)"
        say "no virtual environment is active: creating one in $REPO/.venv"
        "$BASE" -m venv "$REPO/.venv" \
            || die "could not create .venv with $BASE -m venv (on Debian/Ubuntu: apt-get install python3-venv; or activate an environment first)"
        WHERE="$REPO/.venv, new (activate it with: source .venv/bin/activate)"
    fi
fi
[ -x "$PY" ] || die "$PY is not an executable Python interpreter"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || die "$PY is Python $("$PY" -c 'import platform; print(platform.python_version())'); LAMM needs Python >= 3.9"
"$PY" -m pip --version >/dev/null 2>&1 \
    || die "$PY has no pip (install it with: $PY -m ensurepip, or conda install pip)"
PIP=("$PY" -m pip --disable-pip-version-check)
say "installing into $WHERE"
say "python $("$PY" -c 'import platform; print(platform.python_version())'), pip $("$PY" -c 'import pip; print(pip.__version__)')"

BEFORE=$(mktemp)
trap 'rm -f "$BEFORE"' EXIT
# pip install, after noting what was there before the first one (for the summary at the end).
pip_install() {
    [ -s "$BEFORE" ] || { "${PIP[@]}" list --format=freeze 2>/dev/null | sort; echo "#"; } >"$BEFORE"
    "${PIP[@]}" install "$@"
}

# Prints the requirement lines (from files and LAMM_TORCH) that the environment does not satisfy.
unmet() {
    "$PY" - "$@" <<'EOF'
import importlib.metadata as md
import sys
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
lines = []
for arg in sys.argv[1:]:
    if arg.startswith("file:"):
        with open(arg[5:]) as f:
            lines += [line.split("#")[0].strip() for line in f]
    else:
        lines.append(arg)
for line in filter(None, lines):
    try:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        if req.specifier.contains(md.version(req.name), prereleases=True):
            continue
    except Exception:  # not installed, or a line only pip understands: let pip decide
        pass
    print(line)
EOF
}

REQ_FILES=(requirements.txt)
[ "$DEV" = 1 ] && REQ_FILES+=(requirements-test.txt)
[ "$SKIP_DASSL" = 1 ] || REQ_FILES+=(requirements-dassl.txt)
# torch's specifiers come from requirements.txt unless LAMM_TORCH pins them (CI does).
read -r -a TORCH_SPECS <<<"${LAMM_TORCH:-$(grep -E '^torch(vision)?([^a-z_-]|$)' requirements.txt | sed 's/#.*//' | tr '\n' ' ')}"

# ---------------------------------------------------------------- Dassl: where from
dassl_state() {
    # "absent", or the installed commit (or "other") and where it came from.
    "$PY" - <<'EOF'
import importlib.metadata as md, json
try:
    dist = md.distribution("dassl")
except md.PackageNotFoundError:
    print("absent")
else:
    info = json.loads(dist.read_text("direct_url.json") or "{}")
    print(info.get("vcs_info", {}).get("commit_id") or "other", info.get("url", "an unknown source"))
EOF
}

# Decided before anything is installed, so that a wrong DASSL_SOURCE fails in seconds.
TARGET=
if [ "$SKIP_DASSL" != 1 ]; then
    read -r STATE FROM <<<"$(dassl_state)"
    SOURCE=${DASSL_SOURCE:-$DASSL_DEFAULT_SOURCE}
    if [ "$STATE" = "$DASSL_COMMIT" ]; then
        PLAN="Dassl is already installed at the pinned commit ${DASSL_COMMIT:0:7}"
    elif [ "$STATE" = other ]; then
        PLAN="Dassl is already installed (from $FROM): keeping it (pip uninstall dassl, then run this again, to reinstall)"
    else
        [ "$STATE" = absent ] || say "Dassl is installed at commit ${STATE:0:7}, not the pinned ${DASSL_COMMIT:0:7}: it will be reinstalled"
        case "$SOURCE" in
            *.tar.gz|*.tgz|*.tar|*.zip)
                if [[ "$SOURCE" == *://* ]]; then TARGET=$SOURCE; else
                    [ -f "$SOURCE" ] || die "DASSL_SOURCE=$SOURCE: no such archive"
                    TARGET=$(cd "$(dirname "$SOURCE")" && pwd)/$(basename "$SOURCE")
                fi
                PLAN="installing Dassl from the archive $SOURCE (its commit cannot be checked: it should be ${DASSL_COMMIT:0:7})" ;;
            *://*|git@*|*.git)
                command -v git >/dev/null || die "installing Dassl from $SOURCE needs git; install git, or set DASSL_SOURCE to an archive of Dassl (.tar.gz/.zip)"
                TARGET="git+${SOURCE#git+}@$DASSL_COMMIT"
                PLAN="installing Dassl at commit ${DASSL_COMMIT:0:7} from $SOURCE" ;;
            *)
                [ -d "$SOURCE" ] || die "DASSL_SOURCE=$SOURCE is neither a git URL, an archive (.tar.gz/.zip) nor a folder"
                [ -f "$SOURCE/setup.py" ] || die "DASSL_SOURCE=$SOURCE has no setup.py: not a Dassl source folder"
                DIR=$(cd "$SOURCE" && pwd)
                if [ -e "$DIR/.git" ] && command -v git >/dev/null; then
                    git -C "$DIR" cat-file -e "$DASSL_COMMIT^{commit}" 2>/dev/null \
                        || die "the clone $DIR lacks Dassl's pinned commit ${DASSL_COMMIT:0:7} (git -C $DIR fetch origin)"
                    TARGET="git+file://$DIR@$DASSL_COMMIT"
                    PLAN="installing Dassl at commit ${DASSL_COMMIT:0:7} from the local clone $DIR"
                else
                    TARGET=$DIR
                    PLAN="installing Dassl from the folder $DIR (not a git clone: its commit cannot be checked)"
                fi ;;
        esac
    fi
fi

# ---------------------------------------------------------------- can every source be reached?
# Checked before anything is installed, so that behind a firewall the install fails in seconds with
# one line, not after gigabytes. Each probe waits at most PROBE_TIMEOUT seconds (also behind a proxy
# that never answers). PyTorch's CPU index is probed below: it is optional (the index serves torch too).
PROBE_TIMEOUT=10
answers() {  # URL: succeeds when a server answers (any HTTP status), else prints why and fails
    "$PY" - "$1" "$PROBE_TIMEOUT" <<'EOF'
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).close()
except urllib.error.HTTPError:
    pass  # the server answered
except Exception as error:
    print(getattr(error, "reason", None) or error or type(error).__name__)
    sys.exit(1)
EOF
}
FILE_ARGS=()
for f in "${REQ_FILES[@]}"; do FILE_ARGS+=("file:$f"); done
TORCH_UNMET=$(unmet "${TORCH_SPECS[@]}")
NEEDS_INDEX=$(unmet "${TORCH_SPECS[@]}" "${FILE_ARGS[@]}")
case "${PIP_NO_INDEX:-}" in 1|true|yes|on) NEEDS_INDEX= ;; esac  # pip installs from --find-links only
if [ -n "$NEEDS_INDEX" ]; then
    INDEX=${PIP_INDEX_URL:-$("${PIP[@]}" config get global.index-url 2>/dev/null || true)}
    INDEX=${INDEX:-https://pypi.org/simple}
    WHY=$(answers "${INDEX%/}/") \
        || die "cannot reach the package index $INDEX ($WHY); check the network or the proxy (HTTPS_PROXY), or set PIP_INDEX_URL to an index you can reach"
fi
if [ -n "$TARGET" ]; then
    case "$SOURCE" in
        http://*|https://*)
            URL="${SOURCE%/}/info/refs?service=git-upload-pack"  # what git asks first
            case "$SOURCE" in *.tar.gz|*.tgz|*.tar|*.zip) URL=$SOURCE ;; esac
            WHY=$(answers "$URL") || true ;;
        *://*|git@*)
            WHY=$(GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="ssh -o BatchMode=yes -o ConnectTimeout=$PROBE_TIMEOUT" \
                  git -c http.lowSpeedLimit=1 -c http.lowSpeedTime=$PROBE_TIMEOUT ls-remote "${SOURCE#git+}" HEAD \
                  2>&1 >/dev/null) && WHY= || WHY=$(echo "${WHY:-no answer}" | tail -n 1) ;;
        *) WHY= ;;  # a local clone, folder or archive
    esac
    [ -z "$WHY" ] || die "cannot reach Dassl's source $SOURCE ($WHY); set DASSL_SOURCE to a local clone or an archive (.tar.gz/.zip) of Dassl, or install without it (--no-dassl; the tests then use their Dassl double)"
fi

# ---------------------------------------------------------------- PyTorch
if [ -z "$TORCH_UNMET" ]; then
    say "torch $("$PY" -c 'import importlib.metadata as m; print(m.version("torch"))') is already installed: keeping it"
else
    if [ "$TORCH_BUILD" = auto ]; then
        if command -v nvidia-smi >/dev/null 2>&1; then TORCH_BUILD=cuda; else TORCH_BUILD=cpu; fi
        [ "$TORCH_BUILD" = cpu ] && say "no NVIDIA driver found (nvidia-smi absent): choosing PyTorch's CPU-only build (--cuda for the CUDA build)"
    fi
    if [ "$TORCH_BUILD" = cpu ]; then
        if "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/torch/', timeout=5)" "$CPU_INDEX" >/dev/null 2>&1; then
            say "installing ${TORCH_SPECS[*]} (CPU-only build) from $CPU_INDEX"
            pip_install --index-url "$CPU_INDEX" "${TORCH_SPECS[@]}" \
                || die "pip could not install ${TORCH_SPECS[*]} from $CPU_INDEX (see above; --cuda takes the default wheels)"
        else
            say "PyTorch's CPU wheel index ($CPU_INDEX) cannot be reached: installing the default wheels from the package index instead (on Linux the CUDA build, a few GB)"
        fi
    fi
fi

# ---------------------------------------------------------------- requirements
if [ -z "$(unmet "${TORCH_SPECS[@]}" "${FILE_ARGS[@]}")" ]; then
    say "requirements (${REQ_FILES[*]}) are already satisfied"
else
    R_ARGS=()
    for f in "${REQ_FILES[@]}"; do R_ARGS+=(-r "$f"); done
    say "installing ${REQ_FILES[*]}"
    # torch in the same resolve, so that the versions chosen fit every requirement together.
    pip_install "${TORCH_SPECS[@]}" "${R_ARGS[@]}" || die "pip could not install ${REQ_FILES[*]} (see above)"
fi

# ---------------------------------------------------------------- Dassl
if [ "$SKIP_DASSL" = 1 ]; then
    say "skipping Dassl (--no-dassl / LAMM_SKIP_DASSL=1): training needs it; the tests use their Dassl double"
else
    say "$PLAN"
    if [ -n "$TARGET" ]; then
        # Not editable, without build isolation and without dependencies (requirements-dassl.txt has
        # them): Dassl's setup.py imports numpy, and an editable install with setuptools' develop
        # command re-enters pip in an isolated build that has none. Works from pip 21 on.
        FLAGS=(--no-deps --no-build-isolation)
        "${PIP[@]}" install --help 2>/dev/null | grep -q -- --use-pep517 && FLAGS+=(--use-pep517)
        pip_install "${FLAGS[@]}" "$TARGET" || die "pip could not install Dassl from $SOURCE (see above); without access to it, set DASSL_SOURCE to a local clone or an archive (.tar.gz/.zip) of Dassl"
    fi
fi

# ---------------------------------------------------------------- what changed, and a check
if [ ! -s "$BEFORE" ]; then
    say "nothing new installed: everything was already in place"
else
"$PY" - "$BEFORE" <(
    "${PIP[@]}" list --format=freeze 2>/dev/null | sort
) <<'EOF'
import sys
def read(path):
    with open(path) as f:
        return dict(line.strip().split("==", 1) for line in f if "==" in line)
before, after = read(sys.argv[1]), read(sys.argv[2])
changed = [f"{name} {after[name]}" + (f" (was {before[name]})" if name in before else "")
           for name in sorted(after, key=str.lower) if before.get(name) != after[name]]
if len(changed) > 8:  # a new environment: name the main ones, not the ~80 dependencies
    main = [c for c in changed if c.split()[0].lower() in ("torch", "torchvision", "openai-clip", "dassl", "pytest")]
    print(f"install.sh: installed {len(changed)} packages: " + ", ".join(main)
          + f" and {len(changed) - len(main)} more (pip list shows them)")
elif changed:
    print(f"install.sh: installed {len(changed)} package(s): " + ", ".join(changed))
else:
    print("install.sh: nothing new installed: everything was already in place")
EOF
fi

MODULES=clip,lamm,trainers
[ "$SKIP_DASSL" = 1 ] && MODULES=clip,lamm || MODULES=dassl,$MODULES
CHECK=$(OUTDATED_IGNORE=1 "$PY" -W ignore -c "import ${MODULES}" 2>&1) \
    || die "the install finished but 'import ${MODULES}' fails: $(echo "$CHECK" | tail -n 1)"
say "ok: ${MODULES//,/, } import with $PY"
if [ "$PY" = "$REPO/.venv/bin/python" ] && [ "${VIRTUAL_ENV:-}" != "$REPO/.venv" ]; then
    say "activate the environment first: source .venv/bin/activate"
fi
if [ "$SKIP_DASSL" = 1 ]; then
    say "next: python -m pytest"
else
    say "next: bash scripts/lamm/main.sh caltech101 16   (tests: bash install.sh --dev && python -m pytest)"
fi
