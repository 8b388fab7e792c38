def compute_accuracy(output, target, topk=(1, )):
    """Top-k accuracy in percent, one 1-element tensor per k.

    ``output`` is ``[batch, num_classes]`` (if a tuple/list, its first
    element is used); ``target`` holds the labels ``[batch]``.

    Like Dassl, the hit matrix is flattened with ``view``; on current torch
    that matrix is non-contiguous, so any k > 1 with a batch > 1 raises
    RuntimeError ("view size is not compatible ..."), as with Dassl.
    """
    if isinstance(output, (tuple, list)):
        output = output[0]
    n = target.size(0)
    top = output.topk(max(topk), 1, True, True)[1].t()
    hits = top.eq(target.view(1, -1).expand_as(top))
    return [
        hits[:k].view(-1).float().sum(0, keepdim=True).mul_(100.0 / n)
        for k in topk
    ]
