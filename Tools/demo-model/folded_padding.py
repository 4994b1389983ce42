"""A training-time speed-up that changes no weight and no result.

Wan pads every prompt's text embedding to 512 rows with zeros, and each block's cross-attention
attends over all 512. The padding rows are identical, so they give identical keys and values, and
attending over m copies of one key is attending over one copy with its logit raised by ln(m).
Training therefore keeps each batch's longest prompt plus one padding row, and adds to the padding
keys' logits the log of how many rows they stand for. The outputs (and so the gradients) are those
of the 512-row context up to rounding, for a fraction of the cross-attention's and the text
embedder's work. Inference (Wand, sample.py) keeps the 512 rows; the exported model is the same.

check() compares the two against diffusers' own processor before training starts, so a change in
diffusers that broke the equivalence stops the run instead of training a different model.
"""
import math

import torch
import torch.nn.functional as F

TEXT_LEN = 512


class FoldedPaddingCrossAttention:
    """Cross-attention processor for WanAttention with an additive per-key bias ([B, L]) that
    train_dit.py sets before each forward pass; None attends plainly."""

    def __init__(self):
        self.bias = None

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, rotary_emb=None):
        assert not attn.fused_projections and attn.add_k_proj is None and rotary_emb is None
        q = attn.norm_q(attn.to_q(hidden_states))
        k = attn.norm_k(attn.to_k(encoder_hidden_states))
        v = attn.to_v(encoder_hidden_states)
        q, k, v = (x.unflatten(2, (attn.heads, -1)).transpose(1, 2) for x in (q, k, v))
        mask = None if self.bias is None else self.bias[:, None, None, :].to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = out.transpose(1, 2).flatten(2, 3).type_as(q)
        return attn.to_out[1](attn.to_out[0](out))


def pad(rows):
    """The context as Wan builds it: [B, n, D] text rows padded with zero rows to 512."""
    return F.pad(rows, (0, 0, 0, TEXT_LEN - rows.shape[1]))


def fold(rows, lengths):
    """rows: [B, n, D] text rows, zero past each prompt's length -> (context [B, n + 1, D], bias [B, n + 1])."""
    b, n, _ = rows.shape
    context = F.pad(rows, (0, 0, 0, 1))
    bias = torch.zeros(b, n + 1)
    for i, length in enumerate(lengths):
        bias[i, length:] = math.log((TEXT_LEN - length) / (n + 1 - length))
    return context, bias


def install(dit):
    """Puts one shared folded processor on every block's cross-attention; returns it."""
    processor = FoldedPaddingCrossAttention()
    for block in dit.blocks:
        block.attn2.set_processor(processor)
    return processor


def check(dit, hidden_states, timestep, rows, lengths, tolerance=1e-4):
    """Runs the DiT once with diffusers' processors on the 512-row context and once folded (in
    float32); raises if they differ by more than `tolerance`. Leaves the folded processor installed
    and returns it with the largest difference."""
    with torch.no_grad():
        want = dit(hidden_states=hidden_states, timestep=timestep, encoder_hidden_states=pad(rows),
                   return_dict=False)[0]
        processor = install(dit)
        context, processor.bias = fold(rows, lengths)
        got = dit(hidden_states=hidden_states, timestep=timestep, encoder_hidden_states=context, return_dict=False)[0]
    diff = (want - got).abs().max().item()
    if not diff <= tolerance:
        raise RuntimeError(f"folded padding differs from the 512-row context by {diff:.3g} (> {tolerance})")
    return processor, diff
