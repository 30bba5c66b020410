"""The real architectures' sizes, to build randomly initialised models of them without the hub.

Values from the models' published configs (config.json on the hub): Qwen2.5-VL-3B-Instruct and
Qwen2.5-Math-1.5B. The vocabulary is the real 151,936 rows whatever tokenizer drives the model (the project's
offline tokenizer uses the first thousand), so the embedding, the output layer and the logits cost what they cost
in the real model. ``scaled`` keeps a model's depth and shrinks its widths, for CPU measurements of the same
number of layers and kernel launches per decode step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

QWEN_VOCAB_SIZE = 151_936


@dataclass(frozen=True)
class DecoderSize:
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    tied_embeddings: bool
    vocab: int = QWEN_VOCAB_SIZE
    # Vision tower of a vision-language model (None for a text model).
    vision_depth: int | None = None
    vision_hidden: int | None = None

    def scaled(self, hidden: int, vocab: int, vision_depth: int | None = None) -> DecoderSize:
        """The same depth at width ``hidden``: heads of 16 dimensions, intermediate in proportion."""
        factor = hidden / self.hidden
        heads = max(2, hidden // 16)
        return dataclasses.replace(
            self,
            hidden=hidden,
            heads=heads,
            kv_heads=2 if heads % 2 == 0 else 1,
            intermediate=max(8, int(self.intermediate * factor) // 8 * 8),
            vocab=vocab,
            vision_depth=vision_depth if self.vision_depth else None,
            vision_hidden=max(32, int(self.vision_hidden * factor) // 16 * 16) if self.vision_hidden else None,
        )


QWEN25_VL_3B = DecoderSize(
    hidden=2048,
    intermediate=11008,
    layers=36,
    heads=16,
    kv_heads=2,
    tied_embeddings=True,
    vision_depth=32,
    vision_hidden=1280,
)
QWEN25_MATH_1_5B = DecoderSize(hidden=1536, intermediate=8960, layers=28, heads=12, kv_heads=2, tied_embeddings=True)


def decoder_config(size: DecoderSize) -> dict:
    """The text decoder's transformers config values."""
    head_dim = size.hidden // size.heads
    values = {
        "hidden_size": size.hidden,
        "intermediate_size": size.intermediate,
        "num_hidden_layers": size.layers,
        "num_attention_heads": size.heads,
        "num_key_value_heads": size.kv_heads,
        "vocab_size": size.vocab,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-6,
        "tie_word_embeddings": size.tied_embeddings,
    }
    if size.vision_depth:
        # Qwen2.5-VL's multimodal rope splits head_dim / 2 frequencies over time, height and width (16, 24, 24 at 128).
        half = head_dim // 2
        temporal = half // 4
        spatial = (half - temporal) // 2
        sections = [temporal, spatial, half - temporal - spatial]
        values["rope_parameters"] = {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": sections}
    return values


def vision_config(size: DecoderSize) -> dict:
    """Qwen2.5-VL's vision tower at ``size``'s depth and width, merging into the decoder's width."""
    heads = max(1, size.vision_hidden // 80)
    return {
        "depth": size.vision_depth,
        "hidden_size": size.vision_hidden,
        "intermediate_size": size.vision_hidden * 3420 // 1280,  # 3,420 at the real width
        "num_heads": heads,
        "out_hidden_size": size.hidden,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [index for index in (7, 15, 23, 31) if index < size.vision_depth],
    }
