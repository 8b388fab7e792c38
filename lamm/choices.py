"""The method's named choices, in a module without torch, so that a config is checked before
torch is imported (a config error takes a fraction of a second, not the seconds torch takes)."""

LABEL_TOKEN_MODES = ("shortest", "all", "one")  # which class-name tokens become label embeddings
LABEL_INITS = ("word", "random")  # label embeddings start from the name's word embeddings, or random
LABEL_LAYOUTS = ("name", "official")  # where MaPLe + LAMM's labels sit in the prompt
CHECKPOINTING_MODES = ("auto", "on", "off")  # TRAINER.MEMORY.TEXT_CHECKPOINTING
