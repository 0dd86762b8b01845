"""Class-manifold data: each class (or each image) is one manifold of samples.

Three sources, all returning float32 tensors:
- ``synthetic_manifolds``: random low-dimensional balls in R^D, made in code.
- ``digits_views``: scikit-learn's 8x8 digits (offline), each image a manifold of augmented views.
- ``torchvision_dataset``: MNIST / CIFAR-10 from local files (downloaded only on request).

Randomness comes from a seed and never touches the caller's global torch RNG state.
"""
from pathlib import Path

import numpy as np
import torch
import torchvision
from sklearn.datasets import load_digits
from torchvision.transforms import v2

from physics_baseline.config import as_choice, as_float, as_int

# The digits train/test split is fixed: the same images are held out whatever the view seed.
DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0

# Augmentation of one 8x8 digit: integer shifts of at most 1 pixel (translate is a fraction of
# the 8-pixel side), rotations up to 10 degrees, additive Gaussian noise of 0.05 (pixel values in
# [0, 1]), clipped back to [0, 1].
MAX_SHIFT_PIXELS = 1
MAX_ROTATION_DEGREES = 10.0
NOISE_SIGMA = 0.05

TORCHVISION_DATASETS = {"mnist": torchvision.datasets.MNIST, "cifar10": torchvision.datasets.CIFAR10}


def synthetic_manifolds(n_classes: int, samples_per_class: int, input_dim: int, manifold_dim: int,
                        radius: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples of N random ``manifold_dim``-balls of radius ``radius`` in R^``input_dim``.

    Class c has centre ~ N(0, I_D) and m samples ``centre + radius * B_c u`` with u uniform in the
    unit k-ball and B_c a random orthonormal (D, k) basis. Returns ``x`` (N*m, D) float32, class
    by class, and ``labels`` (N*m,) int64 (0..N-1, each repeated m times).
    """
    n_classes = as_int("n_classes", n_classes, 1)
    samples_per_class = as_int("samples_per_class", samples_per_class, 1)
    input_dim = as_int("input_dim", input_dim, 1)
    manifold_dim = as_int("manifold_dim", manifold_dim, 1, input_dim)
    radius = as_float("radius", radius, 0.0, low_open=False)
    generator = torch.Generator().manual_seed(as_int("seed", seed, 0))
    shape = (n_classes, samples_per_class, manifold_dim)

    centres = torch.randn(n_classes, 1, input_dim, generator=generator, dtype=torch.float64)
    bases, _ = torch.linalg.qr(torch.randn(n_classes, input_dim, manifold_dim, generator=generator,
                                           dtype=torch.float64))
    directions = torch.randn(shape, generator=generator, dtype=torch.float64)
    directions /= torch.linalg.vector_norm(directions, dim=-1, keepdim=True)
    lengths = torch.rand(shape[:2] + (1,), generator=generator, dtype=torch.float64) ** (1.0 / manifold_dim)
    ball = radius * lengths * directions                                   # (N, m, k)
    x = centres + ball @ bases.transpose(1, 2)                             # (N, m, D)
    labels = torch.arange(n_classes).repeat_interleave(samples_per_class)
    return x.reshape(-1, input_dim).to(torch.float32), labels


def held_out_split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint sorted index arrays (train, test) of 0..n-1 from a seeded permutation; the test
    part holds ``round(test_fraction * n)`` indices."""
    n = as_int("n", n, 1)
    test_fraction = as_float("test_fraction", test_fraction, 0.0, 1.0, low_open=False)
    permutation = np.random.default_rng(as_int("seed", seed, 0)).permutation(n)
    n_test = int(round(test_fraction * n))
    return np.sort(permutation[n_test:]), np.sort(permutation[:n_test])


def digits_views(n_images: int | None = None, views: int = 8, seed: int = 0,
                 train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Augmented views of scikit-learn's digits, each image one instance manifold.

    The images are those of the fixed train (or test) split (``DIGITS_TEST_FRACTION``,
    ``DIGITS_SPLIT_SEED``), the first ``n_images`` of it (all when None). Returns ``views``
    (n_images, views, 1, 8, 8) float32 in [0, 1] and the digit ``labels`` (n_images,) int64 in
    0..9, for evaluation only. Deterministic given seed.
    """
    views = as_int("views", views, 1)
    digits = load_digits()
    train_index, test_index = held_out_split(len(digits.images), DIGITS_TEST_FRACTION, DIGITS_SPLIT_SEED)
    index = train_index if train else test_index
    if n_images is not None:
        index = index[:as_int("n_images", n_images, 1, len(index))]
    images = torch.as_tensor(digits.images[index] / 16.0, dtype=torch.float32).unsqueeze(1)
    augment = v2.Compose([
        v2.RandomAffine(degrees=MAX_ROTATION_DEGREES, translate=(MAX_SHIFT_PIXELS / 8, MAX_SHIFT_PIXELS / 8),
                        interpolation=v2.InterpolationMode.BILINEAR),
        v2.GaussianNoise(sigma=NOISE_SIGMA, clip=True),
    ])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(as_int("seed", seed, 0))
        out = torch.stack([torch.stack([augment(image) for _ in range(views)]) for image in images])
    return out, torch.as_tensor(digits.target[index], dtype=torch.int64)


def torchvision_dataset(name: str, root: str | Path, train: bool = True,
                        download: bool = False) -> torch.utils.data.Dataset:
    """MNIST or CIFAR-10 from ``root``: items (image (C, H, W) float32 in [0, 1], label int).

    Raises FileNotFoundError when the files are missing and ``download`` is False; downloading
    needs network and happens only with ``download=True``.
    """
    name = as_choice("name", name, TORCHVISION_DATASETS)
    to_tensor = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    try:
        return TORCHVISION_DATASETS[name](str(root), train=train, download=download, transform=to_tensor)
    except RuntimeError as error:
        if download:
            raise
        raise FileNotFoundError(
            f"{name} files not found under {root} ({error}); pass download=True on a machine with "
            f"network access to fetch them, then reuse that root offline") from None
