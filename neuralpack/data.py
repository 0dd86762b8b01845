"""Class-manifold data: each class (or each image) is one manifold of samples.

Sources, all returning float32 tensors:
- ``synthetic_manifolds``: random low-dimensional balls in R^D, made in code.
- ``digits_views``: scikit-learn's 8x8 digits (offline), each image a manifold of augmented views.
- ``image_splits`` and ``augmented_views``: train and test images of digits, MNIST or CIFAR-10,
  and augmented views of any batch of them (self-supervised runs).
- ``torchvision_dataset``: MNIST / CIFAR-10 from local files (downloaded only on request).

Randomness comes from a seed and never touches the caller's global torch RNG state.
"""
from pathlib import Path

import numpy as np
import torch
import torchvision
from sklearn.datasets import load_digits
from torchvision.transforms import v2

from neuralpack.splits import DIGITS_SPLIT_SEED, DIGITS_TEST_FRACTION, held_out_split
from physics_baseline.validate import ConfigError, as_choice, as_float, as_int

# Augmentation of one 8x8 digit: integer shifts of at most 1 pixel (translate is a fraction of
# the 8-pixel side), rotations up to 15 degrees, scaling by 0.85-1.15, additive Gaussian noise of
# 0.05 (pixel values in [0, 1]), clipped back to [0, 1].
MAX_SHIFT_PIXELS = 1
MAX_ROTATION_DEGREES = 15.0
SCALE_RANGE = (0.85, 1.15)
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


def digits_views(n_images: int | None = None, views: int = 8, seed: int = 0,
                 train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Augmented views of scikit-learn's digits, each image one instance manifold.

    The images are those of the fixed train (or test) split (``DIGITS_TEST_FRACTION``,
    ``DIGITS_SPLIT_SEED``), the first ``n_images`` of it (all when None). Returns ``views``
    (n_images, views, 1, 8, 8) float32 in [0, 1] and the digit ``labels`` (n_images,) int64 in
    0..9, for evaluation only. Deterministic given seed.
    """
    images, labels = digits_images(train)
    if n_images is not None:
        n_images = as_int("n_images", n_images, 1, len(images))
        images, labels = images[:n_images], labels[:n_images]
    return augmented_views(images, views, augmentation("digits"), seed), labels


def digits_images(train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed train (or test) split of scikit-learn's digits: images (n, 1, 8, 8) float32 in
    [0, 1] and labels (n,) int64 in 0..9."""
    digits = load_digits()
    train_index, test_index = held_out_split(len(digits.images), DIGITS_TEST_FRACTION, DIGITS_SPLIT_SEED)
    index = train_index if train else test_index
    images = torch.as_tensor(digits.images[index] / 16.0, dtype=torch.float32).unsqueeze(1)
    return images, torch.as_tensor(digits.target[index], dtype=torch.int64)


def augmentation(name: str) -> v2.Transform:
    """The augmentation of one image (C, H, W) float32 in [0, 1] of data set ``name``.

    digits: shifts of at most 1 pixel, rotations up to 15 degrees, scaling 0.85-1.15, Gaussian
    noise 0.05, clipped.
    mnist: shifts up to 10 %, rotations up to 15 degrees, scaling 0.9-1.1. cifar10: SimCLR's
    (random resized crop of 20-100 % of the area, horizontal flip, colour jitter 0.4/0.4/0.4/0.1
    with probability 0.8, grey with probability 0.2).
    """
    name = as_choice("data", name, ("digits",) + tuple(TORCHVISION_DATASETS))
    if name == "digits":
        return v2.Compose([
            v2.RandomAffine(degrees=MAX_ROTATION_DEGREES, translate=(MAX_SHIFT_PIXELS / 8, MAX_SHIFT_PIXELS / 8),
                            scale=SCALE_RANGE, interpolation=v2.InterpolationMode.BILINEAR),
            v2.GaussianNoise(sigma=NOISE_SIGMA, clip=True),
        ])
    if name == "mnist":
        return v2.RandomAffine(degrees=15.0, translate=(0.1, 0.1), scale=(0.9, 1.1),
                               interpolation=v2.InterpolationMode.BILINEAR)
    return v2.Compose([
        v2.RandomResizedCrop(32, scale=(0.2, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        v2.RandomGrayscale(p=0.2),
    ])


def augmented_views(images: torch.Tensor, views: int, augment: v2.Transform, seed: int) -> torch.Tensor:
    """``views`` augmented views of each image: images (n, C, H, W) float32 in [0, 1] or uint8 ->
    (n, views, C, H, W) float32 in [0, 1]. Deterministic given seed; the global torch RNG state
    is left as it was."""
    views = as_int("views", views, 1)
    if images.ndim != 4:
        raise ConfigError("images", f"must have shape (n, C, H, W), got {tuple(images.shape)}")
    images = as_float_images(images)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(as_int("seed", seed, 0))
        return torch.stack([torch.stack([augment(image) for _ in range(views)]) for image in images])


def as_float_images(images: torch.Tensor) -> torch.Tensor:
    """Images as float32 in [0, 1]: uint8 ones divided by 255, float ones as they are."""
    return v2.functional.to_dtype(images, torch.float32, scale=True)


def image_splits(name: str, root: str | Path = "data", download: bool = False,
                 images: int | None = None) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """((train images, train labels), (test images, test labels)) of digits, MNIST or CIFAR-10.

    Images (n, C, H, W): float32 in [0, 1] for digits, uint8 for the others (converted batch by
    batch by ``augmented_views``); labels (n,) int64. ``images`` keeps the first that many
    training images (all when None). MNIST and CIFAR-10 are read from root (see
    ``torchvision_dataset``).
    """
    name = as_choice("data", name, ("digits",) + tuple(TORCHVISION_DATASETS))
    if name == "digits":
        train, test = digits_images(True), digits_images(False)
    else:
        train, test = (_as_tensors(torchvision_dataset(name, root, split, download)) for split in (True, False))
    if images is not None:
        images = as_int("images", images, 2, len(train[0]))
        train = (train[0][:images], train[1][:images])
    return train, test


def _as_tensors(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """A torchvision MNIST or CIFAR-10 data set as uint8 images (n, C, H, W) and int64 labels."""
    pixels = torch.as_tensor(np.asarray(dataset.data))
    pixels = pixels.unsqueeze(1) if pixels.ndim == 3 else pixels.permute(0, 3, 1, 2)
    return pixels.contiguous(), torch.as_tensor(np.asarray(dataset.targets), dtype=torch.int64)


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
