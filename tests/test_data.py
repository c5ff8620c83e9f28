"""Tests for autograder.data: locating, validating and loading the data sets.

Fashion-MNIST itself is never needed: small but well-formed IDX files are written into a
temporary directory in torchvision's layout. The network is switched off for every test
(see ``_offline``), so nothing here can download or hang.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import socket
import tomllib
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from autograder import data
from autograder.data import DatasetError, ImageData, data_root, load_airfoil, load_fashion_mnist

# conftest points DIVEKIT_DATA at ../shared/data where it is not set; read before _offline
# clears it, so that a worktree elsewhere finds the file too.
AIRFOIL = Path(os.environ.get("DIVEKIT_DATA") or Path(__file__).resolve().parents[2] / "shared/data") / (
    "airfoil_self_noise.dat"
)
needs_airfoil = pytest.mark.skipif(
    not AIRFOIL.is_file(),
    reason=f"the real airfoil file is expected at {AIRFOIL} (../shared beside the repo)",
)

FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
REAL_DOWNLOAD_FASHION = data._download_fashion_mnist


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    """No test may touch the network (conftest's no_network) or inherit the caller's DIVEKIT_DATA."""
    monkeypatch.delenv(data.ENV_VAR, raising=False)


def fail_download(root: Path) -> None:
    """Stand-in for the Fashion-MNIST download: fails at once, as offline."""
    raise RuntimeError("no route to host (simulated)")


def idx_bytes(kind: str, array: np.ndarray) -> bytes:
    """Serialise a uint8 array as an IDX file (big-endian header, then the bytes)."""
    magic = 0x0803 if kind == "images" else 0x0801
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_fashion(
    root: Path,
    *,
    n_train: int = 20,
    n_test: int = 10,
    compressed: bool = True,
    subdir: str = "FashionMNIST/raw",
    seed: int = 0,
) -> dict[tuple[str, str], np.ndarray]:
    """Write a small, valid Fashion-MNIST look-alike under ``root/subdir``."""
    rng = np.random.default_rng(seed)
    arrays = {
        ("train", "images"): rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        ("train", "labels"): rng.integers(0, 10, n_train, dtype=np.uint8),
        ("test", "images"): rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        ("test", "labels"): rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    directory = root / subdir
    directory.mkdir(parents=True, exist_ok=True)
    for (split, kind), array in arrays.items():
        blob = idx_bytes(kind, array)
        if compressed:
            (directory / (FILES[split, kind] + ".gz")).write_bytes(gzip.compress(blob))
        else:
            (directory / FILES[split, kind]).write_bytes(blob)
    return arrays


def raw_dir(root: Path) -> Path:
    return root / "FashionMNIST" / "raw"


# ------------------------------------------------------------------------------ manifest


def test_builtin_manifest_matches_file() -> None:
    with data.MANIFEST_PATH.open("rb") as f:
        on_disk = tomllib.load(f)
    assert tomllib.loads(data._BUILTIN_MANIFEST) == on_disk


def test_manifest_agrees_with_torchvision() -> None:
    from torchvision.datasets import FashionMNIST

    files = data.load_manifest()["fashion-mnist"]["files"]
    assert [(f["name"], f["md5"]) for f in files] == [tuple(r) for r in FashionMNIST.resources]
    for f in files:
        assert f["url"] == FashionMNIST.mirrors[0] + f["name"]


def test_manifest_airfoil_entry() -> None:
    (entry,) = data.load_manifest()["airfoil"]["files"]
    assert entry["url"] == "http://d2l-data.s3-accelerate.amazonaws.com/airfoil_self_noise.dat"
    assert entry["sha1"] == "76e5be1548fd8222e5074cf0faae75edff8cf93f"


def test_unreadable_manifest_raises(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.toml"
    bad.write_text("this is = = not toml")
    with pytest.raises(DatasetError, match="manifest"):
        data.load_manifest(bad)


def test_a_misspelt_manifest_key_is_an_error_not_a_file_never_checked(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.toml"
    text = data.MANIFEST_PATH.read_text(encoding="utf-8")
    bad.write_text(text.replace('sha1 = "76e5', 'sh1 = "76e5'), encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        data.load_manifest(bad)
    assert str(caught.value) == (
        f"data manifest: {bad}: unknown key 'sh1' in [[airfoil.files]] #1 'airfoil_self_noise.dat'; "
        "allowed keys: name, sha1, url"
    )


# ----------------------------------------------------------------------------- data_root


def test_data_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In the repository, the default is datasets/cache beside the package.
    assert data_root() == Path(data.__file__).resolve().parents[1] / "datasets" / "cache"
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert data_root(str(tmp_path / "explicit")) == tmp_path / "explicit"


def test_data_root_outside_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_REPO_DATASETS", tmp_path / "no-such-checkout" / "datasets")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_root() == tmp_path / "xdg" / "divekit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data_root() == Path("~/.cache/divekit").expanduser()


# ------------------------------------------------------------------- Fashion-MNIST: good


@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "extracted"])
def test_loads_torchvision_layout(tmp_path: Path, compressed: bool) -> None:
    arrays = write_fashion(tmp_path, compressed=compressed)
    ds = load_fashion_mnist(tmp_path, download=False)
    assert ds.name == "fashion-mnist" and not ds.is_fallback
    assert ds.train_images.shape == (20, 28, 28) and ds.train_images.dtype == torch.uint8
    assert ds.test_images.shape == (10, 28, 28)
    assert ds.train_labels.dtype == torch.int64 and ds.test_labels.shape == (10,)
    for (split, kind), array in arrays.items():
        assert np.array_equal(getattr(ds, f"{split}_{kind}").numpy(), array)
    assert str(raw_dir(tmp_path)) in ds.note
    assert ds.classes[0] == "T-shirt/top"


def test_gz_preferred_over_extracted_copy(tmp_path: Path) -> None:
    # torchvision keeps the .gz beside the extracted file; the .gz (checksummed) is read.
    arrays = write_fashion(tmp_path, compressed=True, seed=1)
    write_fashion(tmp_path, compressed=False, seed=2)
    ds = load_fashion_mnist(tmp_path, download=False)
    assert np.array_equal(ds.train_images.numpy(), arrays["train", "images"])


def test_loads_files_directly_in_root(tmp_path: Path) -> None:
    arrays = write_fashion(tmp_path, subdir=".")
    ds = load_fashion_mnist(tmp_path, download=False)
    assert np.array_equal(ds.test_labels.numpy(), arrays["test", "labels"])


def test_divekit_data_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fashion(tmp_path)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    assert load_fashion_mnist(download=False).name == "fashion-mnist"


def test_image_data_is_frozen_and_repr_is_short(tmp_path: Path) -> None:
    write_fashion(tmp_path)
    ds = load_fashion_mnist(tmp_path, download=False)
    with pytest.raises(AttributeError):
        ds.name = "other"  # type: ignore[misc]
    assert "tensor" not in repr(ds) and ds.fingerprint in repr(ds)


# -------------------------------------------------------------------- Fashion-MNIST: bad


@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "extracted"])
def test_truncated_file_raises_naming_it(tmp_path: Path, compressed: bool) -> None:
    write_fashion(tmp_path, compressed=compressed)
    name = FILES["train", "images"] + (".gz" if compressed else "")
    path = raw_dir(tmp_path) / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(DatasetError, match="truncated") as info:
        load_fashion_mnist(tmp_path, download=False)
    assert str(path) in str(info.value)


def test_file_longer_than_header_says_raises(tmp_path: Path) -> None:
    write_fashion(tmp_path, compressed=False)
    path = raw_dir(tmp_path) / FILES["test", "labels"]
    path.write_bytes(path.read_bytes() + b"\x00" * 7)
    with pytest.raises(DatasetError, match="too long") as info:
        load_fashion_mnist(tmp_path, download=False)
    assert str(path) in str(info.value)


def test_wrong_magic_number_raises(tmp_path: Path) -> None:
    write_fashion(tmp_path)
    path = raw_dir(tmp_path) / (FILES["train", "labels"] + ".gz")
    blob = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + blob[4:]))  # an images magic
    with pytest.raises(DatasetError, match="magic number 0x00000803") as info:
        load_fashion_mnist(tmp_path, download=False)
    assert str(path) in str(info.value)


def test_wrong_image_size_raises(tmp_path: Path) -> None:
    write_fashion(tmp_path, compressed=False)
    path = raw_dir(tmp_path) / FILES["test", "images"]
    path.write_bytes(idx_bytes("images", np.zeros((10, 32, 32), np.uint8)))
    with pytest.raises(DatasetError, match="32x32"):
        load_fashion_mnist(tmp_path, download=False)


def test_not_gzip_raises(tmp_path: Path) -> None:
    write_fashion(tmp_path)
    path = raw_dir(tmp_path) / (FILES["test", "images"] + ".gz")
    path.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(DatasetError, match="not a valid gzip") as info:
        load_fashion_mnist(tmp_path, download=False)
    assert str(path) in str(info.value)


def _balanced_labels(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(np.arange(count) % 10).astype(np.uint8)


def test_full_size_labels_must_hold_each_class_equally(tmp_path: Path) -> None:
    # t10k labels at the official count (10000) must hold 1000 of each class.
    write_fashion(tmp_path)
    path = raw_dir(tmp_path) / (FILES["test", "labels"] + ".gz")
    path.write_bytes(gzip.compress(idx_bytes("labels", np.zeros(10000, np.uint8))))
    with pytest.raises(DatasetError, match="per-class count check") as info:
        load_fashion_mnist(tmp_path, download=False)
    assert "1000 labels of each" in str(info.value) and "class 0: 10000" in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("compressed", [True, False])
def test_full_size_file_with_other_content_fails_the_content_check(tmp_path: Path, compressed: bool) -> None:
    # Balanced and well-formed, but not Fashion-MNIST's labels: only the content tells.
    write_fashion(tmp_path, compressed=compressed)
    name = FILES["test", "labels"] + (".gz" if compressed else "")
    blob = idx_bytes("labels", _balanced_labels(10000))
    (raw_dir(tmp_path) / name).write_bytes(gzip.compress(blob) if compressed else blob)
    with pytest.raises(DatasetError, match="content check") as info:
        load_fashion_mnist(tmp_path, download=False)
    message = str(info.value)
    entry = next(e for e in data.load_manifest()["fashion-mnist"]["files"] if e["name"].startswith(name[:9]))
    assert hashlib.sha256(blob).hexdigest() in message and entry["sha256"] in message
    assert str(raw_dir(tmp_path) / name) in message


def _small_manifest(monkeypatch: pytest.MonkeyPatch, arrays: dict) -> dict:
    """The real manifest with the counts and content digests of the small files a test wrote,
    so that they count as "the official size" and meet the content checks."""
    manifest = data.load_manifest()
    for entry in manifest["fashion-mnist"]["files"]:
        array = arrays[entry["split"], entry["kind"]]
        entry["count"] = len(array)
        entry["sha256"] = hashlib.sha256(idx_bytes(entry["kind"], array)).hexdigest()
    monkeypatch.setattr(data, "load_manifest", lambda path=None: manifest)
    return manifest


@pytest.mark.parametrize("level", [1, 9])
def test_a_copy_compressed_anew_is_accepted_by_its_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: int
) -> None:
    # As Debian's package does: same decompressed bytes, other .gz bytes, so the .gz md5
    # is not the official one. Balanced labels, as the full-size check asks.
    arrays = write_fashion(tmp_path, n_train=30, n_test=20)
    arrays["train", "labels"], arrays["test", "labels"] = _balanced_labels(30), _balanced_labels(20, 1)
    for (split, kind), array in arrays.items():
        blob = gzip.compress(idx_bytes(kind, array), compresslevel=level, mtime=level)
        (raw_dir(tmp_path) / (FILES[split, kind] + ".gz")).write_bytes(blob)
    _small_manifest(monkeypatch, arrays)
    ds = load_fashion_mnist(tmp_path, download=False)
    assert not ds.is_fallback and "subset" not in ds.note
    assert np.array_equal(ds.test_labels.numpy(), arrays["test", "labels"])


def test_the_download_path_fetches_checks_and_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision's own downloader, served small IDX files this test wrote (the official
    URLs, md5s of those .gz files): they arrive, are checked by md5 and content, and load."""
    import torchvision.datasets.utils as tv_utils
    from torchvision.datasets import FashionMNIST

    served = tmp_path / "served"
    arrays = write_fashion(served, n_train=30, n_test=20, subdir="")
    arrays["train", "labels"], arrays["test", "labels"] = _balanced_labels(30), _balanced_labels(20, 1)
    for (split, kind), array in arrays.items():
        (served / (FILES[split, kind] + ".gz")).write_bytes(gzip.compress(idx_bytes(kind, array), mtime=0))
    md5 = {f.name.removesuffix(".gz"): hashlib.md5(f.read_bytes()).hexdigest() for f in served.glob("*.gz")}
    manifest = _small_manifest(monkeypatch, arrays)
    for entry in manifest["fashion-mnist"]["files"]:
        entry["md5"] = md5[entry["name"].removesuffix(".gz")]
    fetched: list[str] = []

    def serve(url: str, filename: str, *args: object, **kwargs: object) -> None:
        fetched.append(url)
        shutil.copyfile(served / url.rsplit("/", 1)[1], filename)

    monkeypatch.setattr(tv_utils, "_get_redirect_url", lambda url, max_hops=3: url)
    monkeypatch.setattr(tv_utils, "_urlretrieve", serve)
    monkeypatch.setattr(FashionMNIST, "resources", [(e["name"], e["md5"]) for e in manifest["fashion-mnist"]["files"]])
    monkeypatch.setattr(data, "_download_fashion_mnist", REAL_DOWNLOAD_FASHION)
    ds = load_fashion_mnist(tmp_path / "root")
    assert not ds.is_fallback and str(raw_dir(tmp_path / "root")) in ds.note
    assert len(fetched) == 4 and all(u.startswith(tuple(m for m in FashionMNIST.mirrors)) for u in fetched)
    assert np.array_equal(ds.train_images.numpy(), arrays["train", "images"])


def test_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    write_fashion(tmp_path, compressed=False)
    (raw_dir(tmp_path) / FILES["train", "labels"]).write_bytes(idx_bytes("labels", np.zeros(19, np.uint8)))
    with pytest.raises(DatasetError, match="20 images but 19 labels"):
        load_fashion_mnist(tmp_path, download=False)


def test_labels_out_of_range_raise(tmp_path: Path) -> None:
    write_fashion(tmp_path, compressed=False)
    (raw_dir(tmp_path) / FILES["test", "labels"]).write_bytes(idx_bytes("labels", np.full(10, 12, np.uint8)))
    with pytest.raises(DatasetError, match="0..9"):
        load_fashion_mnist(tmp_path, download=False)


def test_incomplete_set_raises_instead_of_falling_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_download_fashion_mnist", fail_download)
    write_fashion(tmp_path)
    (raw_dir(tmp_path) / (FILES["test", "images"] + ".gz")).unlink()
    with pytest.raises(DatasetError, match="incomplete: missing t10k-images-idx3-ubyte.gz"):
        load_fashion_mnist(tmp_path)


# ---------------------------------------------------------------- Fashion-MNIST: fallback


def test_absent_data_falls_back_to_digits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_download_fashion_mnist", fail_download)
    ds = load_fashion_mnist(tmp_path)
    assert ds.name == "digits-fallback" and ds.is_fallback
    assert ds.train_images.shape == (1497, 28, 28) and ds.test_images.shape == (300, 28, 28)
    assert ds.train_images.dtype == torch.uint8 and ds.train_labels.dtype == torch.int64
    assert int(ds.train_images.max()) == 255 and int(ds.train_images.min()) == 0
    assert set(ds.test_labels.tolist()) == set(range(10))
    assert str(raw_dir(tmp_path)) in ds.note
    assert "no route to host (simulated)" in ds.note
    assert "handwritten digits resized to 28x28" in ds.note
    assert ds.classes == tuple("0123456789")


def test_fallback_without_download_does_not_try(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_download(root: Path) -> None:
        raise AssertionError("download attempted although download=False")

    monkeypatch.setattr(data, "_download_fashion_mnist", must_not_download)
    ds = load_fashion_mnist(tmp_path, download=False)
    assert ds.is_fallback and "downloading was disabled" in ds.note


def test_no_fallback_when_disallowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_download_fashion_mnist", fail_download)
    with pytest.raises(DatasetError) as info:
        load_fashion_mnist(tmp_path, allow_fallback=False)
    message = str(info.value)
    assert "DIVEKIT_DATA" in message and "--data" in message
    assert str(raw_dir(tmp_path)) in message


def test_real_download_path_fails_fast_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drive torchvision's own downloader, offline: it must fail fast and tidy up."""
    import torchvision.datasets.utils as tv_utils

    seen_timeouts: list[float | None] = []

    def offline(url: str, *args: object, **kwargs: object) -> None:
        seen_timeouts.append(socket.getdefaulttimeout())
        raise urllib.error.URLError("simulated: name or service not known")

    monkeypatch.setattr(tv_utils, "_get_redirect_url", offline)
    monkeypatch.setattr(tv_utils, "_urlretrieve", offline)
    monkeypatch.setattr(data, "_download_fashion_mnist", REAL_DOWNLOAD_FASHION)
    before = socket.getdefaulttimeout()
    # "Fast" is shown by the timeout each network operation ran under, not by a stopwatch
    # (no timed assertions: a loaded machine took 7 s here, mostly importing scikit-learn).
    ds = load_fashion_mnist(tmp_path / "data")
    assert ds.is_fallback
    assert "download failed" in ds.note and "name or service not known" in ds.note
    assert not (tmp_path / "data").exists(), "a failed download left folders behind"
    assert seen_timeouts and seen_timeouts[0] == data.DOWNLOAD_TIMEOUT_S
    assert socket.getdefaulttimeout() == before


# ----------------------------------------------------------------------------- fingerprint


def test_fingerprint_is_stable_and_content_sensitive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fashion(tmp_path / "a")
    write_fashion(tmp_path / "b")  # same seed, same content, different place
    write_fashion(tmp_path / "c", seed=1)
    a = load_fashion_mnist(tmp_path / "a", download=False)
    assert a.fingerprint == load_fashion_mnist(tmp_path / "a", download=False).fingerprint
    assert a.fingerprint == load_fashion_mnist(tmp_path / "b", download=False).fingerprint
    assert a.fingerprint != load_fashion_mnist(tmp_path / "c", download=False).fingerprint
    assert len(a.fingerprint) == 16

    monkeypatch.setattr(data, "_download_fashion_mnist", fail_download)
    digits = load_fashion_mnist(tmp_path / "empty")
    again = load_fashion_mnist(tmp_path / "empty", download=False)
    assert digits.fingerprint == again.fingerprint
    assert torch.equal(digits.train_images, again.train_images)  # deterministic split
    assert digits.fingerprint != a.fingerprint


# --------------------------------------------------------------------------------- airfoil


@needs_airfoil
def test_airfoil_matches_d2l() -> None:
    features, labels = load_airfoil(AIRFOIL)
    assert features.shape == (1500, 5) and labels.shape == (1500,)
    assert features.dtype == torch.float32 and labels.dtype == torch.float32
    # Standardised over all 1503 rows, as get_data_ch11 does, before taking the first n.
    all_features, all_labels = load_airfoil(AIRFOIL, n=1503)
    table = torch.cat([all_features, all_labels[:, None]], dim=1)
    assert torch.allclose(table.mean(0), torch.zeros(6), atol=1e-4)
    assert torch.allclose(table.std(0, unbiased=False), torch.ones(6), atol=1e-4)
    assert torch.equal(all_features[:1500], features)
    raw = np.genfromtxt(AIRFOIL, dtype=np.float32, delimiter="\t")
    expected = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    assert np.array_equal(features.numpy(), expected[:1500, :-1])


@needs_airfoil
def test_airfoil_directory_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(AIRFOIL, tmp_path / "airfoil_self_noise.dat")
    assert data.airfoil_path(tmp_path) == tmp_path / "airfoil_self_noise.dat"
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    assert data.airfoil_path(download=False) == tmp_path / "airfoil_self_noise.dat"
    assert load_airfoil(download=False)[0].shape == (1500, 5)


@needs_airfoil
def test_airfoil_sha1_mismatch_raises(tmp_path: Path) -> None:
    copy = tmp_path / "airfoil_self_noise.dat"
    copy.write_bytes(AIRFOIL.read_bytes().replace(b"126.201", b"126.202", 1))
    actual = hashlib.sha1(copy.read_bytes()).hexdigest()
    with pytest.raises(DatasetError) as info:
        load_airfoil(copy)
    message = str(info.value)
    assert "76e5be1548fd8222e5074cf0faae75edff8cf93f" in message and actual in message
    assert str(copy) in message


def test_airfoil_missing_explicit_path_raises(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="given explicitly"):
        load_airfoil(tmp_path / "nope.dat")


def test_airfoil_absent_and_offline_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    with pytest.raises(DatasetError, match="downloading was disabled"):
        load_airfoil(download=False)
    # With download allowed, the (disabled) network fails at once, with a clear message.
    with pytest.raises(DatasetError, match="could not be downloaded"):
        load_airfoil()
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


@needs_airfoil
def test_airfoil_download_is_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = {"bytes": AIRFOIL.read_bytes()}

    def fake_urlopen(url: str, timeout: float) -> io.BytesIO:
        assert url == "http://d2l-data.s3-accelerate.amazonaws.com/airfoil_self_noise.dat"
        assert timeout == data.DOWNLOAD_TIMEOUT_S
        return io.BytesIO(payload["bytes"])

    monkeypatch.setattr(data.urllib.request, "urlopen", fake_urlopen)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "fresh"))
    path = data.airfoil_path()
    assert path == tmp_path / "fresh" / "airfoil_self_noise.dat"
    assert path.read_bytes() == payload["bytes"]

    # A download with the wrong content is discarded, not left in place.
    payload["bytes"] = b"not the airfoil data"
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "bad"))
    with pytest.raises(DatasetError, match="wrong sha1"):
        data.airfoil_path()
    assert list((tmp_path / "bad").iterdir()) == []


def test_image_data_is_exported() -> None:
    assert ImageData.__name__ in data.__all__


# ------------------------------------------------------ Fashion-MNIST: a real copy, by setting

# Debian's dataset-fashion-mnist (CI installs it). Where DIVEKIT_FASHION_MNIST is set, the
# copy it names must be there: these tests then fail rather than skip.
REAL_FASHION = Path(os.environ.get(data.FASHION_ENV_VAR) or "/usr/share/datasets/fashion-mnist")
needs_real_fashion = pytest.mark.skipif(
    not REAL_FASHION.is_dir() and not os.environ.get(data.FASHION_ENV_VAR),
    reason=f"no Fashion-MNIST copy at {REAL_FASHION} (apt-get install dataset-fashion-mnist)",
)


@needs_real_fashion
def test_the_real_copy_named_by_the_setting_is_accepted(tmp_path: Path) -> None:
    ds = load_fashion_mnist(tmp_path / "empty", download=False, allow_fallback=False, copy=REAL_FASHION)
    assert not ds.is_fallback and str(REAL_FASHION) in ds.note and "subset" not in ds.note
    assert ds.train_images.shape == (60000, 28, 28) and ds.test_images.shape == (10000, 28, 28)
    assert torch.bincount(ds.train_labels).tolist() == [6000] * 10
    assert torch.bincount(ds.test_labels).tolist() == [1000] * 10


@needs_real_fashion
def test_a_real_copy_with_one_changed_pixel_fails_the_content_check(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in REAL_FASHION.glob("*-ubyte*"):
        (copy / f.name).symlink_to(f)
    name = FILES["test", "images"] + ".gz"
    blob = bytearray(gzip.decompress((REAL_FASHION / name).read_bytes()))
    blob[-1] ^= 0xFF
    (copy / name).unlink()
    (copy / name).write_bytes(gzip.compress(bytes(blob), compresslevel=1))
    with pytest.raises(DatasetError, match="content check") as info:
        load_fashion_mnist(tmp_path / "empty", download=False, copy=copy)
    assert str(copy / name) in str(info.value)


def test_the_data_root_comes_before_the_copy_setting(tmp_path: Path) -> None:
    write_fashion(tmp_path / "root", seed=1)
    write_fashion(tmp_path / "copy", seed=2, subdir="")
    mine = load_fashion_mnist(tmp_path / "root", download=False, copy=tmp_path / "copy")
    assert str(raw_dir(tmp_path / "root")) in mine.note
    theirs = load_fashion_mnist(tmp_path / "empty", download=False, copy=tmp_path / "copy")
    assert str(tmp_path / "copy") in theirs.note and theirs.fingerprint != mine.fingerprint


def test_a_copy_setting_naming_an_empty_folder_raises(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DatasetError, match="DIVEKIT_FASHION_MNIST names") as info:
        load_fashion_mnist(tmp_path / "empty", copy=tmp_path / "nothing")
    assert "dataset-fashion-mnist" in str(info.value)
