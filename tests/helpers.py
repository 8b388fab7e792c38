"""Shared test helpers: a tiny CLIP and reference text features computed the plain CLIP way."""
import clip
import torch
import torch.nn.functional as F

from tools.synthetic.tiny_clip import build_tiny_clip

CLASSNAMES = ["airplane", "face", "leopard", "2000 AM General Hummer SUV", "motor_bike"]


def tiny_clip(seed: int = 0):
    return build_tiny_clip(seed)


def plain_clip_text_features(clip_model, texts):
    """Normalised features of ``texts`` through CLIP's own ``encode_text``."""
    with torch.no_grad():
        return F.normalize(clip_model.encode_text(clip.tokenize(texts)), dim=-1)


# Names of one to many tokens, one that a shared prefix must stop before, and a long one.
STEP_NAMES = CLASSNAMES + ["sea lion", "golden retriever", "a very long class name with many words in it"]
STEP_KINDS = ["LAMM", "CoOpLAMM", "CoOpLAMM-middle", "MaPLeLAMM", "CoCoOpLAMM"]


def step_learner(kind, truncate_after_eot=False):
    """(tiny CLIP, prompt learner) of a LAMM-family model: LAMM, CoOpLAMM (context at the end or in
    the middle), MaPLeLAMM or CoCoOpLAMM, with labels on the names' shortest common token count."""
    from lamm.cocoop_prompts import ConditionalPromptLearner
    from lamm.maple_prompts import MultiModalPromptLearner
    from lamm.prompt_learner import PromptLearner

    clip_model = tiny_clip()
    torch.manual_seed(1)
    common = dict(label_tokens="shortest", truncate_after_eot=truncate_after_eot)
    embedding = clip_model.token_embedding
    if kind == "LAMM":
        return clip_model, PromptLearner(embedding, STEP_NAMES, context_init="a photo of a", learn_context=False,
                                         **common)
    if kind == "CoOpLAMM":
        return clip_model, PromptLearner(embedding, STEP_NAMES, context_init="a photo of a", **common)
    if kind == "CoCoOpLAMM":
        return clip_model, ConditionalPromptLearner(embedding, STEP_NAMES, image_dim=clip_model.visual.output_dim,
                                                    context_init="a photo of a", **common)
    if kind == "CoOpLAMM-middle":
        return clip_model, PromptLearner(embedding, STEP_NAMES, n_ctx=4, class_token_position="middle", **common)
    return clip_model, MultiModalPromptLearner(embedding, STEP_NAMES, prompt_depth=3, vision_width=64, text_layers=3,
                                               vision_layers=3, n_ctx=2, context_init="a photo of a", **common)


def training_step(kind, shortcuts, truncate_after_eot=None, checkpointing=False):
    """One forward and backward of ``step_learner(kind)`` with the hierarchical loss.

    Returns (logits, loss terms, gradients of the trainable tensors, evaluation logits, how often
    the first text block ran during backward). The prompt learner keeps only the tokens the
    encoder reads when the prompts are truncated, as the trainers build it, unless
    ``truncate_after_eot`` says otherwise.
    """
    from lamm.cocoop_loss import PerImageHierarchicalLoss
    from lamm.cocoop_model import ConditionalPromptedCLIP
    from lamm.hierarchical_loss import HierarchicalLoss
    from lamm.model import PromptedCLIP

    if truncate_after_eot is None:
        truncate_after_eot = shortcuts.truncate_prompts
    clip_model, prompt_learner = step_learner(kind, truncate_after_eot)
    for p in clip_model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():  # move the labels and context away from their start
        for p in prompt_learner.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    conditional = kind.startswith("CoCoOp")  # per-image text features
    model_class = ConditionalPromptedCLIP if conditional else PromptedCLIP
    model = model_class(clip_model, prompt_learner, shortcuts=shortcuts, text_checkpointing=checkpointing)
    torch.manual_seed(2)
    images, labels = torch.randn(6, 3, 32, 32), torch.tensor([0, 1, 1, 3, 6, 7])
    calls = []
    hook = clip_model.transformer.resblocks[0].ln_1.register_forward_hook(lambda *args: calls.append(1))
    outputs = model.forward_features(images)
    loss = (PerImageHierarchicalLoss if conditional else HierarchicalLoss)(lambda_wc=0.25)
    terms = loss(outputs, labels)
    forward_calls = len(calls)
    loss.total(terms).backward()
    hook.remove()
    grads = {name: p.grad.clone() for name, p in prompt_learner.named_parameters() if p.requires_grad}
    with torch.no_grad():
        eval_logits = model(images)
    return (outputs["logits"].detach(), {k: v.detach() for k, v in terms.items()}, grads, eval_logits,
            len(calls) - forward_calls)


def reference_cocoop(clip_model, names, ctx, meta_net, images, labels):
    """CoCoOp as the CoOp repository describes it: the normalised image feature goes through the
    Meta-Net (Linear, ReLU, Linear); its output is added to each of the context vectors; for each
    image, [SOS] + shifted context + "name." + [EOS] (77 tokens) of every class goes through CLIP's
    text transformer, the feature is read at the end-of-text token and normalised; logits are
    exp(logit_scale) * image feature @ text features; the loss is cross-entropy.

    ``meta_net`` maps "linear1" and "linear2" to ``nn.Linear`` layers; ``ctx`` is (n_ctx, dim).
    Returns (logits, loss)."""
    n_ctx = ctx.shape[0]
    names = [name.replace("_", " ") for name in names]
    tokens = clip.tokenize([" ".join(["X"] * n_ctx) + " " + name + "." for name in names])
    with torch.no_grad():
        embedding = clip_model.token_embedding(tokens)
    prefix, suffix = embedding[:, :1], embedding[:, 1 + n_ctx:]
    image_features = clip_model.visual(images)
    image_features = image_features / image_features.norm(dim=-1, keepdim=True)
    bias = meta_net["linear2"](torch.relu(meta_net["linear1"](image_features)))
    shifted = ctx.unsqueeze(0) + bias.unsqueeze(1)
    logits = []
    for ctx_i, image_i in zip(shifted, image_features):
        prompts = torch.cat([prefix, ctx_i.unsqueeze(0).expand(len(names), -1, -1), suffix], dim=1)
        x = (prompts + clip_model.positional_embedding).permute(1, 0, 2)
        x = clip_model.ln_final(clip_model.transformer(x).permute(1, 0, 2))
        text = x[torch.arange(len(names)), tokens.argmax(dim=-1)] @ clip_model.text_projection
        text = text / text.norm(dim=-1, keepdim=True)
        logits.append(clip_model.logit_scale.exp() * image_i @ text.t())
    logits = torch.stack(logits)
    return logits, F.cross_entropy(logits, labels)
