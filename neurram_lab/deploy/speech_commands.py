"""Google Speech Commands (v0.02) in its official layout, and the authors' test set and MFCC features.

Layout of DIR: one folder of 16 kHz mono ``.wav`` clips per word (``yes/``,
``no/``, ``marvin/`` ...), ``testing_list.txt`` (and ``validation_list.txt``)
naming clips as ``word/file.wav``, and ``_background_noise_/`` (long noise
recordings; the authors add it to training clips only, so nothing here reads it).
Twelve classes: the model's ten words, ``unknown`` (every other word) and ``silence``.

The test set is built as the authors' ``lstm/dataloader.py`` builds its balanced
(non-canonical) test set from the hash split that ``testing_list.txt`` records:
every test clip of the ten words, plus ``size = int(n_words / 0.8)`` slots of
which the first 10 % are silence (an all-zero 1 s clip, as there) and the next
10 % unknown (test clips of the other words drawn at random with replacement,
here from a fixed seed). The whole list is then shuffled with a fixed seed, so
``limit`` keeps a representative first slice.

Calibration uses training clips (in neither list), without the authors' training
augmentation (time shift, background noise).

Clips as there: clamped to [-1, 1]; a shorter clip is centred in 1 s of zeros (the
extra zero sample at the end when the padding is odd); a longer one keeps its middle
second (the authors draw a random second).

Features as the authors make them (``lstm/KWS_LSTM.py``: torchaudio ``MFCC``
with 40 coefficients, log mels, 160 mel bands in 20..4000 Hz, window and FFT
641, hop 320, centred frames): here through librosa's STFT and mel filters (HTK mel
scale, no filter normalisation, reflect padding, periodic Hann window, power 2),
``log(mel + 1e-6)`` and an orthonormal DCT-II: 50 frames per 1 s clip. torchaudio lays its
321 FFT bins at ``linspace(0, 8000, 321)`` Hz where librosa's grid for an FFT of 641 is
``k * 16000 / 641`` Hz, so the mel filters are librosa's for an FFT of 640, whose grid is
torchaudio's (with 160 narrow bands the two grids gave MFCCs 6 % apart).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..validate import array, dir_path, integer, optional_integer
from ..errors import InputError

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000
N_MFCC, WIN_LENGTH, HOP_LENGTH, N_MELS, F_MIN, F_MAX = 40, 641, 320, 160, 20.0, 4000.0
BACKGROUND = "_background_noise_"
FEATURE_CHUNK = 500  # clips per STFT


def _audio(module: str):
    """``librosa`` or ``soundfile``, or an InputError saying how to install the audio extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"{module} is not installed: the Speech Commands features need the audio extra "
                         f"(pip install -e '.[audio]')") from None


def _check_layout(d: Path) -> None:
    if not (d / "testing_list.txt").is_file():
        raise InputError(f"data: {d} is not a Speech Commands folder: no testing_list.txt")


def _listed(d: Path, name: str) -> list:
    p = d / name
    if not p.is_file():
        return []
    try:
        lines = p.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"data: cannot read {p} ({type(exc).__name__})") from None
    out = [ln.strip().replace("\\", "/") for ln in lines if ln.strip()]
    for rel in out:
        if rel.count("/") != 1 or not rel.endswith(".wav") or rel.startswith(BACKGROUND):
            raise InputError(f"data: {p} lists {rel!r}; each line names a clip as word/file.wav")
    return out


def _words(words) -> list:
    words = [str(w) for w in words] if isinstance(words, (list, tuple)) else None
    if words is None or len(words) != 12 or words[10:] != ["unknown", "silence"]:
        raise InputError(f"words must be the model's 12 classes (10 words, 'unknown', 'silence'), got {words!r}")
    return words


def label_of(word: str, words) -> int:
    """Class index of a clip of ``word``: its place among the ten words, else ``unknown`` (10)."""
    words = _words(words)
    return words.index(word) if word in words[:10] else 10


def test_clips(data_dir, words, limit: int | None = None, seed: int = 0) -> tuple[list, np.ndarray]:
    """``(clips, labels)`` of the authors' balanced test set (module doc): paths of ``testing_list.txt``
    clips and ``("silence", i)`` entries, shuffled with ``seed``; ``limit`` keeps the first ``limit``."""
    d = dir_path("data", data_dir)
    _check_layout(d)
    words = _words(words)
    limit = optional_integer("limit", limit, lo=1)
    seed = integer("seed", seed, 0, None)
    rels = _listed(d, "testing_list.txt")
    missing = [r for r in rels if not (d / r).is_file()]
    if missing:
        raise InputError(f"data: testing_list.txt names {missing[0]!r}, which is not in {d}"
                         f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}")
    known = [r for r in rels if r.split("/")[0] in words[:10]]
    others = [r for r in rels if r.split("/")[0] not in words[:10]]
    if not known:
        raise InputError(f"data: {d / 'testing_list.txt'} names no clip of the model's words {words[:10]}")
    size = int(len(known) / 0.8)
    n_sil = sum(1 for i in range(size) if i / size < 0.1)
    n_unk = sum(1 for i in range(size) if 0.1 <= i / size < 0.2)
    if n_unk and not others:
        raise InputError(f"data: {d / 'testing_list.txt'} names no clip of another word; the test set's "
                         f"'unknown' share ({n_unk} clips) is drawn from those")
    rng = np.random.default_rng(seed)
    unk = [others[i] for i in rng.integers(0, len(others), n_unk)] if n_unk else []
    clips = [d / r for r in known + unk] + [("silence", i) for i in range(n_sil)]
    labels = [words.index(r.split("/")[0]) for r in known] + [10] * n_unk + [11] * n_sil
    order = rng.permutation(len(clips))
    clips, labels = [clips[i] for i in order], np.asarray(labels, np.uint8)[order]
    if limit is not None:
        clips, labels = clips[:limit], labels[:limit]
    return clips, labels


def training_clips(data_dir, words, n: int, seed: int = 0) -> tuple[list, np.ndarray]:
    """``n`` training clips (in neither list), drawn with ``seed``; an InputError when there are none."""
    d = dir_path("data", data_dir)
    _check_layout(d)
    words = _words(words)
    n = integer("n", n, 1, None, "training clips")
    seed = integer("seed", seed, 0, None)
    held = set(_listed(d, "testing_list.txt")) | set(_listed(d, "validation_list.txt"))
    rels = sorted(f"{p.parent.name}/{p.name}" for p in d.glob("*/*.wav") if p.parent.name != BACKGROUND)
    rels = [r for r in rels if r not in held]
    if not rels:
        raise InputError(f"data: {d} holds no training clip (every word clip is in testing_list.txt or "
                         f"validation_list.txt); calibration needs training clips")
    pick = np.random.default_rng(seed).permutation(len(rels))[:n]
    return [d / rels[i] for i in pick], np.asarray([label_of(rels[i].split("/")[0], words) for i in pick], np.uint8)


def read_wav(path) -> np.ndarray:
    """A 16 kHz mono clip as float64 clamped to [-1, 1], centred in 1 s of zeros or cut to its middle second."""
    soundfile = _audio("soundfile")
    try:
        y, sr = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, OSError, ValueError, TypeError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        raise InputError(f"{path} is not a readable wav file ({type(exc).__name__}: {exc})") from None
    if sr != SAMPLE_RATE:
        raise InputError(f"{path}: sample rate {sr} Hz, Speech Commands clips are {SAMPLE_RATE} Hz")
    if y.shape[1] != 1:
        raise InputError(f"{path}: {y.shape[1]} channels, Speech Commands clips are mono")
    if y.shape[0] == 0:
        raise InputError(f"{path}: no samples")
    y = np.clip(y[:, 0], -1.0, 1.0)
    if y.size > CLIP_SAMPLES:
        at = (y.size - CLIP_SAMPLES) // 2
        return y[at : at + CLIP_SAMPLES]
    out = np.zeros(CLIP_SAMPLES)
    at = (CLIP_SAMPLES - y.size) // 2
    out[at : at + y.size] = y
    return out


def load_waves(clips) -> np.ndarray:
    """(n, 16000) float64 waveforms of ``clips`` (paths, or ``("silence", i)``: all zeros, as the authors')."""
    if not isinstance(clips, (list, tuple)):
        raise InputError(f"clips must be a list of wav paths or ('silence', i) entries, got {type(clips).__name__}")
    out = np.zeros((len(clips), CLIP_SAMPLES))
    for k, clip in enumerate(clips):
        if not (isinstance(clip, tuple) and clip and clip[0] == "silence"):
            out[k] = read_wav(clip)
    return out


def mfcc_features(waves) -> np.ndarray:
    """MFCC features (n, 50, 40) float32 of (n, 16000) waveforms, as the authors' pipeline makes them."""
    import scipy.fft

    librosa = _audio("librosa")
    y = array("waves", waves, 2)
    if y.shape[1] != CLIP_SAMPLES:
        raise InputError(f"waves of shape {y.shape}: need (n, {CLIP_SAMPLES})")
    with warnings.catch_warnings():  # 160 bands over 20..4000 Hz leave the lowest filters empty, as in torchaudio
        warnings.simplefilter("ignore", UserWarning)
        # torchaudio puts the 321 bins at linspace(0, 8000, 321) Hz: librosa's grid for an FFT of 640
        fbank = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=WIN_LENGTH - 1, n_mels=N_MELS, fmin=F_MIN, fmax=F_MAX,
                                    htk=True, norm=None)
    n_frames = 1 + (CLIP_SAMPLES + 2 * (WIN_LENGTH // 2) - WIN_LENGTH) // HOP_LENGTH  # centred frames: 50
    out = np.zeros((y.shape[0], n_frames, N_MFCC), np.float32)
    for i in range(0, y.shape[0], FEATURE_CHUNK):  # chunks bound the spectrogram's memory (~130 MB)
        # power spectrogram as torchaudio's Spectrogram makes it (periodic Hann of 641, centred reflect padding)
        spec = np.abs(librosa.stft(y[i : i + FEATURE_CHUNK], n_fft=WIN_LENGTH, hop_length=HOP_LENGTH,
                                   win_length=WIN_LENGTH, window="hann", center=True, pad_mode="reflect")) ** 2
        mfcc = scipy.fft.dct(np.log(np.matmul(fbank, spec) + 1e-6), type=2, norm="ortho", axis=-2)[..., :N_MFCC, :]
        out[i : i + FEATURE_CHUNK] = mfcc.transpose(0, 2, 1)
    return out
