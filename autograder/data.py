"""The data sets the autograder trains and tests on: where they live, how they are checked.

Two data sets are needed:

* **Fashion-MNIST** (d2l chapters 4-5 and later) for the classification exercises. It is
  loaded from torchvision's on-disk layout (``<root>/FashionMNIST/raw/``) and downloaded
  with ``torchvision.datasets.FashionMNIST`` where there is a network. Every file is
  validated before use (IDX magic number, declared dimensions, length against the header,
  and, where the file claims to be the official full-size one, per-class label counts and
  the sha256 of its decompressed content, so a copy compressed anew is accepted), because a
  half-downloaded file otherwise surfaces as a baffling grading failure much later.
  Where there is no copy and no network, grading can still run on scikit-learn's bundled
  handwritten digits, resized to 28x28 -- and the result says so (``ImageData.note``).
* **Airfoil self-noise** (d2l chapter 11), loaded exactly as d2l's ``get_data_ch11`` does,
  always checked against its sha1.

What each data set consists of (file names, URLs, checksums) is declared in
``datasets/manifest.toml`` at the repository root; this module carries an identical
built-in copy for installs without a checkout (the test-suite keeps the two in step).

Where files are looked for is decided by :func:`data_root`: an explicit argument, else the
``DIVEKIT_DATA`` environment variable, else ``datasets/cache/`` in a repository checkout,
else ``~/.cache/divekit``; ``DIVEKIT_FASHION_MNIST`` may name a Fashion-MNIST copy
elsewhere (Debian's package).

Why this module is longer than most (~740 lines): about 70 of them are the built-in
manifest, and most of the rest are the checks and their messages, each naming the file
and what is wrong with it. The checks read the manifest's keys and share its errors and
helpers; split apart, a rule and the key it reads would live in different files.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import socket
import tempfile
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .tomlschema import Key, SchemaError, Table, Tables, load

if TYPE_CHECKING:  # torch is imported where tensors are made: resolving a grading run's
    import torch  # settings (data_root) must not cost a torch import (see cli.grade)

__all__ = [
    "DOWNLOAD_TIMEOUT_S",
    "DatasetError",
    "ImageData",
    "airfoil_path",
    "data_root",
    "load_airfoil",
    "load_fashion_mnist",
    "load_manifest",
]

#: Environment variable naming a directory that holds (or should receive) the data.
ENV_VAR = "DIVEKIT_DATA"

#: Environment variable naming a folder that holds a copy of Fashion-MNIST (read when the
#: data root holds none), e.g. Debian's /usr/share/datasets/fashion-mnist.
FASHION_ENV_VAR = "DIVEKIT_FASHION_MNIST"

#: Seconds any single network operation of a download may block. Without a limit, urllib
#: (and so torchvision) waits indefinitely on a firewalled host; with it, an offline
#: machine fails in seconds and the grader can fall back. It bounds each connect/read,
#: not the whole transfer, so a slow but working connection still completes.
DOWNLOAD_TIMEOUT_S = 10.0

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_DATASETS = _PACKAGE_DIR.parent / "datasets"
MANIFEST_PATH = _REPO_DATASETS / "manifest.toml"

# IDX ("SN3 Pascal Vincent") magic numbers: two zero bytes, a type code (0x08 = unsigned
# byte) and the number of dimensions. Fashion-MNIST images are 3-D, labels 1-D.
_IDX_MAGIC = {"images": 0x00000803, "labels": 0x00000801}

# The size of the digits fallback split. load_digits holds 1797 images; 300 for testing
# mirrors Fashion-MNIST's roughly 6:1 ratio while leaving enough to train on.
_DIGITS_TEST_SIZE = 300
_DIGITS_SEED = 0

# Identical in content to datasets/manifest.toml (test_builtin_manifest_matches_file
# enforces this). Used only when this module runs outside a repository checkout.
_BUILTIN_MANIFEST = """
schema = 1

[fashion-mnist]
title = "Fashion-MNIST"
homepage = "https://github.com/zalandoresearch/fashion-mnist"
license = "MIT"
subdir = "FashionMNIST/raw"
image_shape = [28, 28]
num_classes = 10

[[fashion-mnist.files]]
name = "train-images-idx3-ubyte.gz"
split = "train"
kind = "images"
count = 60000
url = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz"
md5 = "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
sha256 = "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"

[[fashion-mnist.files]]
name = "train-labels-idx1-ubyte.gz"
split = "train"
kind = "labels"
count = 60000
url = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-labels-idx1-ubyte.gz"
md5 = "25c81989df183df01b3e8a0aad5dffbe"
sha256 = "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"

[[fashion-mnist.files]]
name = "t10k-images-idx3-ubyte.gz"
split = "test"
kind = "images"
count = 10000
url = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz"
md5 = "bef4ecab320f06d8554ea6380940ec79"
sha256 = "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"

[[fashion-mnist.files]]
name = "t10k-labels-idx1-ubyte.gz"
split = "test"
kind = "labels"
count = 10000
url = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz"
md5 = "bb300cfdad3c16e7a12a480ee83cd310"
sha256 = "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"

[airfoil]
title = "NASA airfoil self-noise (d2l chapter 11, get_data_ch11)"
homepage = "https://archive.ics.uci.edu/dataset/291/airfoil+self+noise"

[[airfoil.files]]
name = "airfoil_self_noise.dat"
url = "http://d2l-data.s3-accelerate.amazonaws.com/airfoil_self_noise.dat"
sha1 = "76e5be1548fd8222e5074cf0faae75edff8cf93f"
"""

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


class DatasetError(Exception):
    """A data set is missing, incomplete or corrupt, and cannot be used as it stands.

    The message always names the file (or directory) concerned and says what to do.
    """


# --------------------------------------------------------------------------- locations


def data_root(override: str | Path | None = None) -> Path:
    """Return the directory data sets are read from and downloaded into.

    In order of precedence: ``override`` (e.g. the CLI's ``--data``), the ``DIVEKIT_DATA``
    environment variable, ``<repo>/datasets/cache`` when this package runs from a
    repository checkout, and otherwise a per-user cache (``$XDG_CACHE_HOME/divekit``,
    by default ``~/.cache/divekit``). The directory is not created here; downloads create
    it when they need it.
    """
    if override is not None and str(override) != "":
        return Path(override).expanduser().absolute()
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser().absolute()
    if _REPO_DATASETS.is_dir():
        return _REPO_DATASETS / "cache"
    cache_home = os.environ.get("XDG_CACHE_HOME", "").strip() or "~/.cache"
    return Path(cache_home).expanduser().absolute() / "divekit"


def _dataset(files: Table, **keys: Key) -> Table:
    text = {k: Key(str, k) for k in ("title", "homepage", "license")}
    return Table({**text, **keys, "files": Tables(files, "the files, as downloaded", required=True)}, required=True)


def _req(type_: type, doc: str, **kw: Any) -> Key:
    return Key(type_, doc, required=True, **kw)


# Strict, so that a misspelt checksum key is an error rather than a file never checked.
MANIFEST_SCHEMA = Table(
    {
        "schema": _req(int, "manifest format version", choices=(1,)),
        "fashion-mnist": _dataset(
            Table(
                {
                    "name": _req(str, "file name as downloaded"),
                    "split": _req(str, "train or test", choices=("train", "test")),
                    "kind": _req(str, "images or labels", choices=("images", "labels")),
                    "count": _req(int, "number of examples", minimum=1),
                    "url": _req(str, "where it is downloaded from"),
                    "md5": _req(str, "md5 of the downloaded file"),
                    "sha256": _req(str, "sha256 of the decompressed IDX file"),
                }
            ),
            subdir=_req(str, "torchvision's folder under the data root"),
            image_shape=_req(list, "height and width", items=int),
            num_classes=_req(int, "number of classes", minimum=1),
        ),
        "airfoil": _dataset(
            Table(
                {
                    "name": _req(str, "file name"),
                    "url": _req(str, "where it is downloaded from"),
                    "sha1": _req(str, "sha1 of the file"),
                }
            )
        ),
    }
)


def load_manifest(path: str | Path | None = None) -> dict[str, Any]:
    """Return the parsed data manifest, checked against :data:`MANIFEST_SCHEMA`.

    Reads ``path`` if given, else ``datasets/manifest.toml`` in the repository, else the
    built-in copy (for installs without a checkout).
    """
    if path is not None:
        manifest_file = Path(path)
    elif MANIFEST_PATH.is_file():
        manifest_file = MANIFEST_PATH
    else:
        return load("", MANIFEST_SCHEMA, text=_BUILTIN_MANIFEST, label="the built-in data manifest")
    try:
        return load(manifest_file, MANIFEST_SCHEMA)
    except SchemaError as exc:
        raise DatasetError(f"data manifest: {exc}") from exc


# ------------------------------------------------------------------------------ helpers


def _file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, read in chunks so large files need little memory."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.new(algorithm, usedforsecurity=False)).hexdigest()


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Temporarily set the process-wide default socket timeout.

    torchvision's downloader calls ``urllib.request.urlopen`` without a timeout, so the
    process default is the only lever we have. It is process-global (not thread-safe), so
    it is restored as soon as the download attempt ends, whatever happens.
    """
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _one_line(exc: BaseException, limit: int = 240) -> str:
    """A short, single-line description of an exception, for notes and messages."""
    text = str(exc)
    # torchvision reports "Error downloading <file>:\nTried <mirror>, got:\n<error>"; the
    # underlying error is the informative part.
    if "got:" in text:
        text = text.rsplit("got:", 1)[1]
    text = " ".join(text.split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fingerprint(name: str, *tensors: torch.Tensor) -> str:
    """A short stable hash of a data set's contents, usable as a cache key.

    It covers the data set's name and every tensor's dtype, shape and bytes, so any
    change to the data (or a switch to the fallback) gives a different key.
    """
    digest = hashlib.sha256(name.encode())
    for t in tensors:
        t = t.contiguous()
        digest.update(f"|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()[:16]


# ------------------------------------------------------------------------ Fashion-MNIST


@dataclass(frozen=True, eq=False)
class ImageData:
    """A 10-class image classification data set, ready for grading.

    ``train_images``/``test_images`` are uint8 tensors of shape (N, 28, 28) with values
    0..255; ``train_labels``/``test_labels`` are int64 tensors of shape (N,). ``name`` is
    ``"fashion-mnist"`` or ``"digits-fallback"``; ``note`` is a sentence for reports
    saying what was used and why; ``fingerprint`` is a short stable hash of the data.

    Equality is identity (comparing tensors elementwise is not what ``==`` should do
    here); compare ``fingerprint`` to ask whether two loads hold the same data.
    """

    train_images: torch.Tensor = field(repr=False)
    train_labels: torch.Tensor = field(repr=False)
    test_images: torch.Tensor = field(repr=False)
    test_labels: torch.Tensor = field(repr=False)
    name: str
    note: str
    fingerprint: str

    @property
    def is_fallback(self) -> bool:
        """True when this is not Fashion-MNIST but the digits stand-in."""
        return self.name != "fashion-mnist"

    @property
    def classes(self) -> tuple[str, ...]:
        """Human-readable class names, indexed by label."""
        if self.is_fallback:
            return tuple(str(d) for d in range(10))
        return FASHION_MNIST_CLASSES


def _fashion_dirs(root: Path, subdir: str) -> list[Path]:
    """Directories that may hold the Fashion-MNIST files, in order of preference.

    torchvision's layout first; then the root itself, so that a directory holding the four
    files as distributed (e.g. the ``data/fashion`` folder of the Zalando repository) can
    be pointed at directly.
    """
    return [root / subdir, root]


def _locate_fashion_files(root: Path, spec: dict[str, Any]) -> tuple[Path, dict[str, Path]]:
    """Find the Fashion-MNIST files under ``root``.

    Returns the directory searched and a map from manifest file name (``*.gz``) to the file
    to read, which may be the ``.gz`` or the extracted raw file. Files that are absent are
    missing from the map. All files come from one directory, so that two partial copies
    are never silently mixed.
    """
    dirs = _fashion_dirs(root, spec["subdir"])
    for directory in dirs:
        found: dict[str, Path] = {}
        for entry in spec["files"]:
            gz = directory / entry["name"]
            raw = directory / entry["name"].removesuffix(".gz")
            # Prefer the .gz: it is what was downloaded, and the manifest has its md5. The
            # raw file is only derived from it (torchvision extracts it beside the .gz).
            if gz.is_file():
                found[entry["name"]] = gz
            elif raw.is_file():
                found[entry["name"]] = raw
        if found:
            return directory, found
    return dirs[0], {}


def _read_idx(path: Path, entry: dict[str, Any], image_shape: tuple[int, ...], num_classes: int) -> torch.Tensor:
    """Read and validate one IDX file (gzip-compressed or not) listed in the manifest.

    Checks, in order: the file decompresses completely, the magic number fits the kind of
    file, the declared dimensions are sane, the length matches what the header declares,
    and -- for a file declaring the official full size -- that it is the official content
    (:func:`_check_official`). Every failure is a :class:`DatasetError` naming the file.
    """
    import torch

    kind = entry["kind"]
    compressed = path.suffix == ".gz"
    where = f"Fashion-MNIST file {path}"
    advice = "Delete it and download again (or copy a good copy there); an interrupted download is the usual cause."
    try:
        blob = path.read_bytes()
        data = gzip.decompress(blob) if compressed else blob
    except EOFError as exc:
        raise DatasetError(f"{where} is truncated: its gzip stream ends early ({exc}). {advice}") from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"{where} is not a valid gzip file ({exc}). {advice}") from exc
    except OSError as exc:
        raise DatasetError(f"cannot read {where}: {exc}") from exc

    expected_magic = _IDX_MAGIC[kind]
    ndim = expected_magic & 0xFF
    header_len = 4 + 4 * ndim
    described = "decompressed " if compressed else ""
    if len(data) < header_len:
        raise DatasetError(
            f"{where} is truncated: {len(data)} {described}bytes, fewer than the "
            f"{header_len}-byte IDX header of a {kind} file. {advice}"
        )
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise DatasetError(
            f"{where} has magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"(an IDX {kind} file of unsigned bytes with {ndim} dimension(s)). "
            "It is not a Fashion-MNIST "
            f"{kind} file, or it is corrupt. {advice}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if dims[0] == 0:
        raise DatasetError(f"{where} declares 0 {kind}; the file is empty or corrupt. {advice}")
    if kind == "images" and dims[1:] != image_shape:
        raise DatasetError(
            f"{where} declares images of {dims[1]}x{dims[2]} pixels, expected "
            f"{image_shape[0]}x{image_shape[1]}. It is not a Fashion-MNIST image file."
        )
    expected_len = header_len + math.prod(dims)
    if len(data) != expected_len:
        state = "truncated" if len(data) < expected_len else "too long"
        raise DatasetError(
            f"{where} is {state}: its header declares {' x '.join(map(str, dims))} "
            f"{kind}, i.e. {expected_len} bytes, but it holds {len(data)} {described}bytes. "
            f"{advice}"
        )
    if dims[0] == entry["count"]:
        _check_official(where, entry, data, blob if compressed else None, header_len, num_classes, advice)
    tensor = torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=header_len)
    return tensor.view(*dims)


def _check_official(
    where: str, entry: dict[str, Any], data: bytes, blob: bytes | None, header_len: int, num_classes: int, advice: str
) -> None:
    """Raise DatasetError unless a file declaring the official size holds the official content.

    Only such files are held to it: smaller, well-formed files (subsets, test fixtures)
    have no published content to compare with, and they passed the structural checks.
    A label file must hold exactly count/num_classes examples of each class (Fashion-MNIST
    is balanced), which names the fault more plainly than a digest can. Then the content:
    the sha256 of the decompressed bytes, whoever compressed them (Debian's package
    recompresses), or else the md5 of the .gz as downloaded from the official URL.
    """
    if entry["kind"] == "labels":
        per_class = np.bincount(np.frombuffer(data, np.uint8, offset=header_len), minlength=num_classes)
        want = entry["count"] // num_classes
        wrong = {c: int(n) for c, n in enumerate(per_class) if n != want}
        if wrong:
            listed = ", ".join(f"class {c}: {n}" for c, n in list(wrong.items())[:4])
            raise DatasetError(
                f"{where} fails the per-class count check: Fashion-MNIST has {want} labels of each "
                f"of its {num_classes} classes, this file has {listed}. It is corrupt or not "
                f"Fashion-MNIST. {advice}"
            )
    if hashlib.sha256(data).hexdigest() == entry["sha256"]:
        return
    if blob is not None and hashlib.md5(blob, usedforsecurity=False).hexdigest() == entry["md5"]:
        return
    actual = hashlib.sha256(data).hexdigest()
    raise DatasetError(
        f"{where} fails the content check: it has Fashion-MNIST's size and structure, but the "
        f"sha256 of its decompressed bytes is {actual}, expected {entry['sha256']}"
        + (" (nor is it the official .gz download)" if blob is not None else "")
        + f". It is corrupt or not the official data. {advice}"
    )


def _load_fashion_files(directory: Path, files: dict[str, Path], spec: dict[str, Any]) -> ImageData:
    """Read the four validated Fashion-MNIST files into an :class:`ImageData`."""
    image_shape = tuple(spec["image_shape"])
    num_classes = int(spec["num_classes"])
    tensors: dict[tuple[str, str], torch.Tensor] = {}
    for entry in spec["files"]:
        path = files[entry["name"]]
        tensors[entry["split"], entry["kind"]] = _read_idx(path, entry, image_shape, num_classes)

    for split in ("train", "test"):
        images, labels = tensors[split, "images"], tensors[split, "labels"]
        if len(images) != len(labels):
            raise DatasetError(
                f"Fashion-MNIST {split} files in {directory} disagree: {len(images)} images "
                f"but {len(labels)} labels. They come from different copies or one is corrupt."
            )
        if int(labels.max()) >= num_classes:
            raise DatasetError(
                f"Fashion-MNIST {split} labels in {directory} include {int(labels.max())}; "
                f"labels must lie in 0..{num_classes - 1}. The label file is corrupt."
            )

    train_images, test_images = tensors["train", "images"], tensors["test", "images"]
    full = all(len(tensors[e["split"], e["kind"]]) == e["count"] for e in spec["files"])
    train_labels = tensors["train", "labels"].long()
    test_labels = tensors["test", "labels"].long()
    name = "fashion-mnist"
    return ImageData(
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        name=name,
        note=f"Fashion-MNIST ({len(train_images)} training / {len(test_images)} test images) from {directory}"
        + ("." if full else ": a subset, so not checked against the official content."),
        fingerprint=_fingerprint(name, train_images, train_labels, test_images, test_labels),
    )


def _download_fashion_mnist(root: Path) -> None:
    """Download Fashion-MNIST into ``root`` with torchvision, failing fast when offline.

    torchvision fetches the four ``.gz`` files into ``<root>/FashionMNIST/raw/``, checks
    each against its md5, and extracts it beside itself. It skips a ``.gz`` that is
    already present with the right md5 and re-fetches one that is not (such as a partial
    download), but it does nothing at all when the four extracted files already exist.
    """
    from torchvision.datasets import FashionMNIST  # heavy import, only needed here

    # A failed download leaves no empty folders behind in the user's data folder.
    made = [p for p in (root, root / "FashionMNIST", root / "FashionMNIST" / "raw") if not p.exists()]
    root.mkdir(parents=True, exist_ok=True)
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            # train=False: the constructor also loads the chosen split; the test split is the
            # smaller one. Either way all four files are downloaded.
            FashionMNIST(str(root), train=False, download=True)
    except BaseException:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty
        raise


def _digits_fallback(note: str) -> ImageData:
    """scikit-learn's handwritten digits, made to look like Fashion-MNIST.

    The 1797 8x8 images (values 0..16) ship with scikit-learn, so this works offline.
    They are upsampled to 28x28 bilinearly, rescaled to 0..255 uint8, and split
    deterministically into 1497 training and 300 test images.
    """
    import torch
    from sklearn.datasets import load_digits  # heavy import, only needed here

    digits = load_digits()
    images = torch.from_numpy(digits.images.astype(np.float32)).unsqueeze(1)  # N x 1 x 8 x 8
    images = torch.nn.functional.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False)
    # Bilinear interpolation of values in [0, 16] stays in [0, 16]; clamp against rounding.
    images = (images.squeeze(1) * (255.0 / 16.0)).round().clamp(0, 255).to(torch.uint8)
    labels = torch.from_numpy(digits.target.astype(np.int64))

    # numpy's legacy RandomState is guaranteed to give the same stream for a seed across
    # numpy versions, so the split -- and the fingerprint -- never drifts.
    order = torch.from_numpy(np.random.RandomState(_DIGITS_SEED).permutation(len(labels)))
    train_idx, test_idx = order[:-_DIGITS_TEST_SIZE], order[-_DIGITS_TEST_SIZE:]
    train_images, train_labels = images[train_idx], labels[train_idx]
    test_images, test_labels = images[test_idx], labels[test_idx]
    name = "digits-fallback"
    return ImageData(
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        name=name,
        note=note,
        fingerprint=_fingerprint(name, train_images, train_labels, test_images, test_labels),
    )


def load_fashion_mnist(
    root: str | Path | None = None,
    *,
    download: bool = True,
    allow_fallback: bool = True,
    copy: str | Path | None = None,
) -> ImageData:
    """Load Fashion-MNIST, validated, or an explicitly labelled stand-in.

    Files are looked for under ``data_root(root)`` in torchvision's layout
    (``FashionMNIST/raw/``, ``.gz`` or extracted) or directly in that directory. Missing
    files are downloaded with torchvision if ``download`` is true. ``copy`` (from
    ``$DIVEKIT_FASHION_MNIST``, e.g. Debian's ``/usr/share/datasets/fashion-mnist``) names a
    folder holding a copy, read when the data root holds none of the files, before any
    download; naming one that holds none raises, since the setting says the data is there.

    Every file found is validated; a truncated, corrupt or mismatched file raises
    :class:`DatasetError` naming it -- it is never used, and never quietly replaced by the
    fallback. Likewise a set with some files present and others missing raises.

    Only when there is no Fashion-MNIST at all and it cannot be downloaded does this
    return scikit-learn's digits resized to 28x28 (``name == "digits-fallback"``, with a
    ``note`` explaining why) -- or, with ``allow_fallback=False``, raise
    :class:`DatasetError` saying how to provide the data.
    """
    manifest = load_manifest()
    spec = manifest["fashion-mnist"]
    base = data_root(root)
    directory, files = _locate_fashion_files(base, spec)
    expected = [entry["name"] for entry in spec["files"]]
    if not files and copy:
        directory, files = _locate_fashion_files(Path(copy).expanduser().absolute(), spec)
        if not files:
            raise DatasetError(
                f"{FASHION_ENV_VAR} names {copy}, but it holds no Fashion-MNIST file "
                f"({', '.join(expected)}, or their extracted forms). Install Debian's "
                f"dataset-fashion-mnist, or unset {FASHION_ENV_VAR}."
            )

    failure: str | None = None
    if len(files) < len(expected):
        if download:
            try:
                _download_fashion_mnist(base)
            except Exception as exc:  # noqa: BLE001 - any failure to download leads to the same choices
                failure = f"download failed: {_one_line(exc)}"
            directory, files = _locate_fashion_files(base, spec)
        else:
            failure = "downloading was disabled"

    if len(files) == len(expected):
        return _load_fashion_files(directory, files, spec)

    where = base / spec["subdir"]
    if files:
        missing = ", ".join(name for name in expected if name not in files)
        raise DatasetError(
            f"Fashion-MNIST in {directory} is incomplete: missing {missing} "
            f"({failure or 'download reported success but the files are absent'}). "
            "Provide all four files (as .gz or extracted) or delete the directory "
            "and download again."
        )
    reason = failure or "download reported success but the files are absent"
    if not allow_fallback:
        raise DatasetError(
            f"Fashion-MNIST was not found under {where} and could not be obtained ({reason}). "
            f"Put the four files {', '.join(expected)} (or their extracted forms) there, "
            f"or set {ENV_VAR} or pass --data to name a directory that holds them "
            "(in FashionMNIST/raw/ or directly)."
        )
    return _digits_fallback(
        f"Fashion-MNIST was not found under {where} and could not be downloaded ({reason}); "
        "graded on scikit-learn's handwritten digits resized to 28x28 instead."
    )


# ------------------------------------------------------------------------------ airfoil


def _verify_sha1(path: Path, expected: str) -> None:
    """Raise DatasetError unless the file's sha1 is the expected one."""
    actual = _file_digest(path, "sha1")
    if actual != expected:
        raise DatasetError(
            f"airfoil data {path} has the wrong sha1: expected {expected}, got {actual}. "
            "It is corrupt or a different file; delete it (it is downloaded again) "
            "or replace it with d2l's airfoil_self_noise.dat."
        )


def _download(url: str, dest: Path, sha1: str) -> None:
    """Download ``url`` to ``dest`` atomically and verified, with a per-operation timeout.

    The bytes go to a temporary file in the destination directory and are renamed into
    place only when complete and matching ``sha1``, so neither an interrupted download nor
    a wrong file is ever left under the final name.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
        ):
            while chunk := response.read(1 << 16):
                out.write(chunk)
        actual = _file_digest(tmp, "sha1")
        if actual != sha1:
            raise DatasetError(
                f"the file downloaded from {url} has the wrong sha1: expected {sha1}, "
                f"got {actual}. It was discarded; try again later or copy {dest.name} "
                f"to {dest}."
            )
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)


def airfoil_path(path: str | Path | None = None, *, download: bool = True) -> Path:
    """Return the path of a verified copy of ``airfoil_self_noise.dat``.

    Looks, in order, at ``path`` (a file, or a directory holding the file; if given it
    must exist), ``$DIVEKIT_DATA/airfoil_self_noise.dat``, ``data_root()/
    airfoil_self_noise.dat``, and finally downloads d2l's copy into ``data_root()`` if
    ``download`` is true. The file found is always checked against the manifest's sha1;
    a mismatch raises :class:`DatasetError` stating expected and actual digests.
    """
    entry = load_manifest()["airfoil"]["files"][0]
    name, sha1 = entry["name"], entry["sha1"]

    if path is not None:
        candidate = Path(path).expanduser()
        if candidate.is_dir():
            candidate = candidate / name
        if not candidate.is_file():
            raise DatasetError(f"airfoil data not found at {candidate} (given explicitly).")
        _verify_sha1(candidate, sha1)
        return candidate

    candidates: list[Path] = []
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        candidates.append(Path(env).expanduser().absolute() / name)
    default = data_root() / name
    if default not in candidates:
        candidates.append(default)
    for candidate in candidates:
        if candidate.is_file():
            _verify_sha1(candidate, sha1)
            return candidate

    looked = ", ".join(str(c) for c in candidates)
    if not download:
        raise DatasetError(
            f"airfoil data not found (looked at {looked}) and downloading was disabled. "
            f"Copy {name} into one of those places, or set {ENV_VAR} or pass --data."
        )
    try:
        _download(entry["url"], default, sha1)
    except OSError as exc:  # urllib's URLError and socket timeouts are OSErrors
        raise DatasetError(
            f"airfoil data not found (looked at {looked}) and could not be downloaded "
            f"from {entry['url']} ({_one_line(exc)}). Copy {name} into one of those "
            f"places, or set {ENV_VAR} or pass --data."
        ) from exc
    return default


def load_airfoil(
    path: str | Path | None = None, *, n: int = 1500, download: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load the airfoil self-noise data exactly as d2l's ``get_data_ch11`` does.

    Every column is standardised to zero mean and unit (population) variance over all
    1503 rows; then the first ``n`` rows are kept. Returns ``(features, labels)`` as
    float32 tensors of shape ``(n, 5)`` and ``(n,)``. ``path`` and ``download`` are as
    for :func:`airfoil_path`.
    """
    import torch

    file = airfoil_path(path, download=download)
    # d2l: np.genfromtxt(file, dtype=np.float32, delimiter='\t'), standardised in float32.
    data = np.genfromtxt(file, dtype=np.float32, delimiter="\t")
    data = (data - data.mean(axis=0)) / data.std(axis=0)
    features = torch.tensor(data[:n, :-1], dtype=torch.float32)
    labels = torch.tensor(data[:n, -1], dtype=torch.float32)
    return features, labels
