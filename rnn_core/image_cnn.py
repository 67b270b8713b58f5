"""A small 2-D CNN that reads a task's input as the image it is (tasks with ``image_shape``).

The digits tasks hand every model the same (B, T, I) tensor, an 8x8 image read row by
row or pixel by pixel; this model folds it back into (B, 1, 8, 8) and classifies the
whole image at once: 3x3 convolution, 2x2 max-pool, 3x3 convolution, global average,
linear. It is not a sequence model: every output step is the same image-level answer
(the digits tasks score only the last step), and it is not causal.
"""

from __future__ import annotations

import torch
from torch import nn


class ImageCNN(nn.Module):
    causal = False

    def __init__(
        self,
        input_size: int,
        output_size: int,
        channels1: int,
        channels2: int,
        image_shape: tuple[int, int],
        device=None,
    ):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.conv1 = nn.Conv2d(1, channels1, 3, padding=1, device=device)
        self.conv2 = nn.Conv2d(channels1, channels2, 3, padding=1, device=device)
        self.head = nn.Linear(channels2, output_size, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, I) -> (B, T, O)
        B, T, n_inputs = x.shape
        height, width = self.image_shape
        if height * width != T * n_inputs:
            raise ValueError(
                f"ImageCNN expects {height}x{width} values per sequence, got {T}x{n_inputs}"
            )
        image = x.reshape(B, 1, height, width)  # raster order, as the task wrote it
        features = torch.relu(self.conv1(image))
        features = torch.nn.functional.max_pool2d(features, 2)
        features = torch.relu(self.conv2(features)).mean(dim=(2, 3))  # (B, C2)
        return self.head(features)[:, None, :].expand(B, T, -1)
