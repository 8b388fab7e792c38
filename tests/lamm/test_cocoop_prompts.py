"""lamm/cocoop_prompts.py: the Meta-Net, CoCoOp's parameter names and initialisation, and the
per-image prompts."""
import pytest
import torch
from torch import nn

from lamm.cocoop_prompts import ConditionalPromptLearner, MetaNet
from tests.helpers import CLASSNAMES, tiny_clip


def learner(**options):
    clip_model = tiny_clip()
    return clip_model, ConditionalPromptLearner(clip_model.token_embedding, CLASSNAMES,
                                                image_dim=clip_model.visual.output_dim, **options)


def test_the_parameters_carry_the_coop_repositorys_names_and_shapes():
    _, prompts = learner(context_init="a photo of a")
    shapes = {name: tuple(p.shape) for name, p in prompts.state_dict().items()}
    # image features 32 wide: a hidden layer of 32 // 16 = 2; the context is 64 wide (the text width)
    assert shapes == {"ctx": (4, 64), "meta_net.linear1.weight": (2, 32), "meta_net.linear1.bias": (2,),
                      "meta_net.linear2.weight": (64, 2), "meta_net.linear2.bias": (64,)}
    assert all(p.requires_grad for p in prompts.parameters())


def test_a_seed_gives_the_coop_repositorys_initial_context_and_meta_net():
    torch.manual_seed(5)
    _, prompts = learner(n_ctx=16)
    torch.manual_seed(5)
    ctx = torch.empty(16, 64)
    nn.init.normal_(ctx, std=0.02)  # CoCoOp's random context, then its Meta-Net
    linear1, linear2 = nn.Linear(32, 2), nn.Linear(2, 64)
    torch.testing.assert_close(prompts.ctx.detach(), ctx, rtol=1e-6, atol=1e-9)
    for ours, theirs in ((prompts.meta_net.linear1, linear1), (prompts.meta_net.linear2, linear2)):
        torch.testing.assert_close(ours.weight, theirs.weight, rtol=0, atol=0)
        torch.testing.assert_close(ours.bias, theirs.bias, rtol=0, atol=0)


def test_each_image_shifts_every_context_vector_by_its_meta_net_output():
    _, prompts = learner(context_init="a photo of a")
    image_features = torch.randn(3, 32)
    contexts = prompts.conditioned_context(image_features)
    assert contexts.shape == (3, 4, 64)
    shift = prompts.meta_net(image_features)
    torch.testing.assert_close(contexts - prompts.ctx, shift.unsqueeze(1).expand(-1, 4, -1))
    embeddings, eot = prompts.prompts_with_context(contexts[1])
    assert embeddings.shape[0] == len(CLASSNAMES) and eot.shape == (len(CLASSNAMES),)
    torch.testing.assert_close(embeddings[:, 1:5], contexts[1].expand(len(CLASSNAMES), -1, -1))


def test_meta_net_is_linear_relu_linear():
    net = MetaNet(512, 512)
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear]
    assert net.linear1.out_features == 32 and net.linear2.out_features == 512


def test_what_cocoop_does_not_have_is_refused():
    with pytest.raises(TypeError, match="class_token_position"):
        learner(class_token_position="middle")
    _, prompts = learner()
    with pytest.raises(TypeError, match="depend on the image"):
        prompts()
