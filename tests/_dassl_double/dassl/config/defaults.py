"""Default config of Dassl 0.6.3: every key, value and value type.

Tuples and lists are kept exactly as Dassl declares them, because yacs
prints them differently and merging checks types against these defaults.
"""
from yacs.config import CfgNode as CN


def _node(**entries):
    node = CN()
    for key, value in entries.items():
        node[key] = value
    return node


_C = CN()
_C.VERSION = 1
_C.OUTPUT_DIR = "./output"
_C.RESUME = ""
_C.SEED = -1  # negative: do not fix the seed
_C.USE_CUDA = True
_C.VERBOSE = True

_C.INPUT = _node(
    SIZE=(224, 224),
    INTERPOLATION="bilinear",
    TRANSFORMS=(),
    NO_TRANSFORM=False,
    PIXEL_MEAN=[0.485, 0.456, 0.406],
    PIXEL_STD=[0.229, 0.224, 0.225],
    CROP_PADDING=4,
    RRCROP_SCALE=(0.08, 1.0),
    CUTOUT_N=1,
    CUTOUT_LEN=16,
    GN_MEAN=0.0,
    GN_STD=0.15,
    RANDAUGMENT_N=2,
    RANDAUGMENT_M=10,
    COLORJITTER_B=0.4,
    COLORJITTER_C=0.4,
    COLORJITTER_S=0.4,
    COLORJITTER_H=0.1,
    RGS_P=0.2,
    GB_P=0.5,
    GB_K=21,
)

_C.DATASET = _node(
    ROOT="",
    NAME="",
    SOURCE_DOMAINS=(),
    TARGET_DOMAINS=(),
    NUM_LABELED=-1,
    NUM_SHOTS=-1,
    VAL_PERCENT=0.1,
    STL10_FOLD=-1,
    CIFAR_C_TYPE="",
    CIFAR_C_LEVEL=1,
    ALL_AS_UNLABELED=False,
)

_C.DATALOADER = _node(NUM_WORKERS=4, K_TRANSFORMS=1, RETURN_IMG0=False)
_C.DATALOADER.TRAIN_X = _node(
    SAMPLER="RandomSampler", BATCH_SIZE=32, N_DOMAIN=0, N_INS=16
)
_C.DATALOADER.TRAIN_U = _node(
    SAME_AS_X=True, SAMPLER="RandomSampler", BATCH_SIZE=32, N_DOMAIN=0,
    N_INS=16
)
_C.DATALOADER.TEST = _node(SAMPLER="SequentialSampler", BATCH_SIZE=32)

_C.MODEL = _node(INIT_WEIGHTS="")
_C.MODEL.BACKBONE = _node(NAME="", PRETRAINED=True)
_C.MODEL.HEAD = _node(
    NAME="", HIDDEN_LAYERS=(), ACTIVATION="relu", BN=True, DROPOUT=0.0
)

_C.OPTIM = _node(
    NAME="adam",
    LR=0.0003,
    WEIGHT_DECAY=5e-4,
    MOMENTUM=0.9,
    SGD_DAMPNING=0,
    SGD_NESTEROV=False,
    RMSPROP_ALPHA=0.99,
    ADAM_BETA1=0.9,
    ADAM_BETA2=0.999,
    STAGED_LR=False,
    NEW_LAYERS=(),
    BASE_LR_MULT=0.1,
    LR_SCHEDULER="single_step",
    STEPSIZE=(-1, ),
    GAMMA=0.1,
    MAX_EPOCH=10,
    WARMUP_EPOCH=-1,
    WARMUP_TYPE="linear",
    WARMUP_CONS_LR=1e-5,
    WARMUP_MIN_LR=1e-5,
    WARMUP_RECOUNT=True,
)

_C.TRAIN = _node(CHECKPOINT_FREQ=0, PRINT_FREQ=10, COUNT_ITER="train_x")

_C.TEST = _node(
    EVALUATOR="Classification",
    PER_CLASS_RESULT=False,
    COMPUTE_CMAT=False,
    NO_TEST=False,
    SPLIT="test",
    FINAL_MODEL="last_step",
)

# Sub-nodes of Dassl's own trainers (domain adaptation, domain
# generalisation, semi-supervised). Only their keys and defaults matter here.
_C.TRAINER = _node(NAME="")
_C.TRAINER.MCD = _node(N_STEP_F=4)
_C.TRAINER.MME = _node(LMDA=0.1)
_C.TRAINER.CDAC = _node(
    CLASS_LR_MULTI=10, RAMPUP_COEF=30, RAMPUP_ITRS=1000, TOPK_MATCH=5,
    P_THRESH=0.95, STRONG_TRANSFORMS=()
)
_C.TRAINER.SE = _node(EMA_ALPHA=0.999, CONF_THRE=0.95, RAMPUP=300)
_C.TRAINER.M3SDA = _node(LMDA=0.5, N_STEP_F=4)
_C.TRAINER.DAEL = _node(WEIGHT_U=0.5, CONF_THRE=0.95, STRONG_TRANSFORMS=())
_C.TRAINER.CROSSGRAD = _node(EPS_F=1.0, EPS_D=1.0, ALPHA_F=0.5, ALPHA_D=0.5)
_C.TRAINER.DDAIG = _node(
    G_ARCH="", LMDA=0.3, CLAMP=False, CLAMP_MIN=-1.0, CLAMP_MAX=1.0,
    WARMUP=0, ALPHA=0.5
)
_C.TRAINER.DAELDG = _node(WEIGHT_U=0.5, CONF_THRE=0.95, STRONG_TRANSFORMS=())
_C.TRAINER.DOMAINMIX = _node(TYPE="crossdomain", ALPHA=1.0, BETA=1.0)
_C.TRAINER.ENTMIN = _node(LMDA=1e-3)
_C.TRAINER.MEANTEACHER = _node(WEIGHT_U=1.0, EMA_ALPHA=0.999, RAMPUP=5)
_C.TRAINER.MIXMATCH = _node(
    WEIGHT_U=100.0, TEMP=2.0, MIXUP_BETA=0.75, RAMPUP=20000
)
_C.TRAINER.FIXMATCH = _node(
    WEIGHT_U=1.0, CONF_THRE=0.95, STRONG_TRANSFORMS=()
)
