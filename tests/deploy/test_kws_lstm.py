"""``deploy kws-lstm`` on a synthetic Speech Commands v0.02 folder in the official layout (no data set here).

What is checked: the folder reads to the authors' balanced test set (ten words, 10 % silence as
zero clips, 10 % unknown) and to training clips in neither list; the MFCC features have the
authors' shape and follow the waveform; the authors' weights through the deploy path (``exact``)
agree with an independent numpy pass written from ``lstm/model.py``'s equations; the 36 matrices
sit one per core within the rows and columns; a recurrent matrix runs on the twin near the
exact product; the command runs end to end on ``sim://``, writes its mapping table and core figure
and replays to the same JSON; a model that does not match is a typed error naming the array, with
nothing written; the public functions refuse bad arguments with typed errors.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from neurram_lab import open_board
from neurram_lab.board.limits import N_COLS, N_CORES, N_ROWS
from neurram_lab.deploy.kws import ChipKWS, exact_group_mvm, features, forward, kws_mapping, load_kws
from neurram_lab.deploy.speech_commands import CLIP_SAMPLES, load_waves, mfcc_features, read_wav, training_clips
from neurram_lab.deploy.speech_commands import test_clips as speech_test_clips
from neurram_lab.errors import InputError, LimitError, NeuRRAMError

soundfile = pytest.importorskip("soundfile", reason="the audio extra (pip install -e '.[audio]')")

MODELS = Path(os.environ["NEURRAM_SHARED"]) / "models"
KWS = MODELS / "kws_lstm4_h112_wnoise0.16.npz"
WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "unknown", "silence"]


def _tone(freq_hz, n, seed):
    t = np.arange(n) / 16000
    rng = np.random.default_rng(seed)
    return (0.3 * np.sin(2 * np.pi * freq_hz * t) + 0.02 * rng.normal(size=n)).astype(np.float32)


def write_speech_commands(d: Path, words=("yes", "no", "stop"), others=("bed", "cat"), per_word=3) -> Path:
    """A tiny Speech Commands v0.02 folder: ``per_word`` short wavs per word folder (clip 0 of each in
    testing_list.txt, clip 1 in validation_list.txt, the rest training), and _background_noise_."""
    test, val = [], []
    for w_i, word in enumerate(list(words) + list(others)):
        (d / word).mkdir(parents=True)
        for k in range(per_word):
            name = f"{w_i:02d}{k:06x}_nohash_0.wav"
            soundfile.write(d / word / name, _tone(200 + 150 * w_i, 8000 + 1000 * k, w_i * 10 + k), 16000)
            (test if k == 0 else val if k == 1 else []).append(f"{word}/{name}")
    (d / "testing_list.txt").write_text("\n".join(test) + "\n")
    (d / "validation_list.txt").write_text("\n".join(val) + "\n")
    (d / "_background_noise_").mkdir()
    soundfile.write(d / "_background_noise_" / "white_noise.wav", _tone(50, 20000, 99), 16000)
    return d


@pytest.fixture(scope="module")
def model():
    return load_kws(KWS)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_speech_commands(tmp_path_factory.mktemp("sc") / "speech_commands_v0.02")


def test_folder_reads_to_the_authors_balanced_test_set(folder):
    clips, labels = speech_test_clips(folder, WORDS)
    # 3 word test clips -> size int(3 / 0.8) = 3: slot 0 silence (< 10 %), none unknown... so use counts by rule
    n_words = 3
    size = int(n_words / 0.8)
    n_sil = sum(i / size < 0.1 for i in range(size))
    n_unk = sum(0.1 <= i / size < 0.2 for i in range(size))
    assert len(clips) == n_words + n_sil + n_unk
    assert sorted(labels[[not isinstance(c, tuple) and c.parent.name in WORDS for c in clips]]) == [0, 1, 8]
    assert np.sum(labels == 11) == n_sil and np.sum(labels == 10) == n_unk
    w = load_waves([c for c in clips if isinstance(c, tuple)])
    assert w.shape == (n_sil, CLIP_SAMPLES) and not w.any()  # silence: all-zero clips, as the authors' test set
    tr, tr_labels = training_clips(folder, WORDS, 50)
    assert len(tr) == 5 and all(p.name.endswith("000002_nohash_0.wav") for p in tr)  # in neither list
    assert sorted(tr_labels) == [0, 1, 8, 10, 10]
    again, _ = speech_test_clips(folder, WORDS)
    assert again == clips and speech_test_clips(folder, WORDS, limit=2)[0] == clips[:2]


def test_a_short_clip_is_centred_and_features_have_the_authors_shape(folder, tmp_path):
    y = np.linspace(-0.5, 0.5, 8000).astype(np.float32)
    soundfile.write(tmp_path / "c.wav", y, 16000)
    w = read_wav(tmp_path / "c.wav")
    assert w.shape == (CLIP_SAMPLES,) and not w[:4000].any() and not w[12000:].any()
    assert np.allclose(w[4000:12000], y, atol=1e-4)
    f = mfcc_features(np.stack([w, np.zeros(CLIP_SAMPLES)]))
    assert f.shape == (2, 50, 40) and f.dtype == np.float32 and np.isfinite(f).all()
    assert np.abs(f[0, 25] - f[1, 25]).max() > 1.0 and np.allclose(f[1], f[1, :1])  # silence: constant frames


def _torchaudio_style_mfcc(waves):
    """MFCCs by the formulas torchaudio documents for MFCC(n_mfcc=40, log_mels=True, win/FFT 641, hop 320,
    f 20..4000 Hz, 160 mels): numpy rFFT of periodic-Hann frames of the reflect-padded clip, triangular HTK
    filters on linspace(0, 8000, 321) Hz, log(mel + 1e-6), orthonormal DCT-II matrix."""
    n_fft, hop = 641, 320
    pad = np.pad(waves, ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect")
    n_frames = 1 + (pad.shape[1] - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    power = np.abs(np.fft.rfft(pad[:, idx] * window, axis=-1)) ** 2  # (n, frames, 321)
    freqs = np.linspace(0, 8000, n_fft // 2 + 1)
    mel, imel = (lambda f: 2595 * np.log10(1 + f / 700)), (lambda m: 700 * (10 ** (m / 2595) - 1))
    pts = imel(np.linspace(mel(20.0), mel(4000.0), 162))
    slopes = pts[None, :] - freqs[:, None]
    fb = np.maximum(0, np.minimum(-slopes[:, :-2] / np.diff(pts)[:-1], slopes[:, 2:] / np.diff(pts)[1:]))
    logmel = np.log(power @ fb + 1e-6)  # (n, frames, 160)
    k, m = np.arange(40)[:, None], np.arange(160)[None, :]
    dct = np.cos(np.pi / 160 * (m + 0.5) * k) * np.sqrt(2 / 160)
    dct[0] /= np.sqrt(2)
    return logmel @ dct.T


def test_features_follow_torchaudio_mfcc_formulas():
    t = np.arange(CLIP_SAMPLES) / 16000
    rng = np.random.default_rng(4)
    waves = np.stack([0.3 * np.sin(2 * np.pi * (300 + 210 * k) * t) * np.hanning(CLIP_SAMPLES)
                      + 0.01 * rng.normal(size=CLIP_SAMPLES) for k in range(4)])
    ref = _torchaudio_style_mfcc(waves)
    ours = mfcc_features(waves)
    assert ours.shape == ref.shape == (4, 50, 40)
    assert np.abs(ours - ref).max() < 1e-3 * np.abs(ref).max()


def _reference_scores(z, feats):
    """An independent numpy pass of the authors' KWS_LSTM_cs (lstm/model.py) from the raw npz arrays."""
    args = json.loads(str(z["arguments_json"]))
    mw, rb = args["max_w"], args["rows_bias"]
    lv = lambda n: z[f"lstmBlocks__cell__{n}"][:, None, None]  # noqa: E731

    def q(x, a, bits):
        s = 2 ** (bits - 1)
        return np.round(np.clip(x / a, -1 + 1 / s, 1 - 1 / s) * s) / s * a

    def clip(x, a):
        return np.sign(x) * 0.5 * (np.abs(x) - np.abs(np.abs(x) - a) + a)  # the authors' pact_a_bmm

    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    wih, whh = np.clip(z["lstmBlocks__cell__weight_ih"], -mw, mw), np.clip(z["lstmBlocks__cell__weight_hh"], -mw, mw)
    bih, bhh = np.clip(z["lstmBlocks__cell__bias_ih"], -rb, rb), np.clip(z["lstmBlocks__cell__bias_hh"], -rb, rb)
    n = feats.shape[0]
    h = np.zeros((4, n, 112))
    c = np.zeros_like(h)
    for t in range(feats.shape[1]):
        x = np.repeat(feats[None, :, t], 4, 0)
        p1 = q(clip(x, lv("a1")), lv("a1"), 4) @ wih + bih
        p2 = q(clip(h, lv("a11")), lv("a11"), 4) @ whh + bhh
        g = clip(clip(p1, lv("a12")) + clip(p2, lv("a13")), lv("a14"))
        i, j, f, o = np.split(g, 4, axis=2)
        c = clip(clip(c * clip(sig(f), lv("a3")), lv("a7")) + clip(clip(sig(i), lv("a4")) * clip(np.tanh(j), lv("a5")),
                                                                   lv("a8")), lv("a9"))
        h = clip(clip(np.tanh(c), lv("a10")) * clip(sig(o), lv("a6")), lv("a11"))
    a1, a2 = z["finFC__a1"][:, None, None], z["finFC__a2"][:, None, None]
    y = q(clip(q(clip(h, a1), a1, 4) @ np.clip(z["finFC__weights"], -mw, mw)
               + np.clip(z["finFC__bias"], -rb, rb), a2), a2, 6).sum(0)
    return q(clip(y, z["a2"][0]), z["a2"][0], 8)


def test_authors_weights_through_the_deploy_path_match_an_independent_pass(model, folder):
    clips, _ = speech_test_clips(folder, WORDS)
    feats = mfcc_features(load_waves(clips))
    feats = np.concatenate([feats, np.random.default_rng(3).normal(0, 30, (4, 50, 40))])  # and off-speech inputs
    with np.load(KWS) as z:
        ref = _reference_scores({k: z[k] for k in z.files}, feats.astype(np.float64))
    assert np.allclose(forward(model, feats), ref, atol=1e-9)
    net = ChipKWS(None, model, mvm="exact")
    net.program()
    assert np.allclose(net.predict(feats, batch=3), ref, atol=1e-6)
    assert max(net.layer_errors().values()) < 1e-9 and len(net.layer_errors()) == 12


def test_36_matrices_one_per_core_within_rows_and_columns(model):
    mats, table = kws_mapping(model)
    assert len(mats) == 36 and table["core"].is_unique and table["core"].between(0, N_CORES - 1).all()
    assert (table["rows_used"] <= N_ROWS).all() and (table["n_out"] <= min(N_COLS, 128)).all()
    for layer, n_in in (("ih", 40), ("hh", 112), ("fc", 112)):
        part = table[table["layer"].str.startswith(layer)]
        assert (part["in_stop"] == n_in).all() and set(part["n_in"] - part["n_bias_rows"]) == {n_in}
        assert part.groupby("layer")["n_out"].sum().eq(12 if layer == "fc" else 448).all()
    codes = np.random.default_rng(0).integers(-7, 8, (4, 5, 112)).astype(np.int16)
    net = ChipKWS(None, model, mvm="exact")
    net.program()
    assert np.allclose(net.group_mvm("hh", codes), exact_group_mvm(model)("hh", codes))  # bias rows at +7 included


def test_recurrent_matrices_run_on_the_twin_near_the_exact_product(model):
    board = open_board("sim://?seed=3")
    net = ChipKWS(board, model, mvm="chip", cores=range(12, 48))
    net.matrices = [m for m in net.matrices if m["group"] == "hh" and m["cell"] == 0]  # 4 matrices: keep it quick
    net.program(iterations=2, settle_s=0.0)
    codes = np.random.default_rng(1).integers(-7, 8, (4, 200, 112)).astype(np.int16)
    before = board.counters()["mvms"]
    members, ins = net._inputs("hh", codes)
    from neurram_lab.deploy.network import chip_calibrate

    net.mvm_calibration = {"hh": chip_calibrate(board, [net.programmed[i] for i in members], ins, 4,
                                                output_bits=net.output_bits, **net.mvm_options)}
    y = net.group_mvm("hh", codes)[0]
    ref = exact_group_mvm(model)("hh", codes)[0]
    assert board.counters()["mvms"] > before
    assert np.linalg.norm(y - ref) / np.linalg.norm(ref) < 0.45


def _cli(capsys, *argv):
    from neurram_lab.cli.cli import main

    capsys.readouterr()
    status = main([*argv, "--json", "--quiet"])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_runs_end_to_end_and_replays_identically(folder, tmp_path, capsys):
    """``--mvm exact`` keeps it inside the CI budget (the chip path on the twin: the test above; a full
    ``--mvm chip`` run of this folder takes about 45 s and replays the same way, see BENCHMARKS.md)."""
    status, out, err = _cli(capsys, "deploy", "kws-lstm", "--data", str(folder), "--limit", "3",
                            "--calibration-clips", "2", "--mvm", "exact", "--board", "sim://?seed=5",
                            "--out", str(tmp_path / "o"))
    assert status == 0, err
    s = json.loads(out.strip().splitlines()[-1])
    assert s["n_clips"] == 3 and s["calibration_clips"] == 2 and s["paper_accuracy"] == 0.847
    assert s["matrices"] == 36 and s["cores_used"] == 36 and len(s["layer_error"]) == 12
    assert max(s["layer_error"].values()) < 1e-9 and s["accuracy"] == s["software_accuracy"]
    for key in ("run_file", "mapping_file", "core_map_file", "figure"):
        assert Path(s[key]).is_file() and Path(s[key]).parent == Path(s["run_file"]).parent
    from neurram_lab import read_run

    run = read_run(s["run_file"])
    assert len(run.tables["predictions"]) == 3 and len(run.tables["matrices"]) == 36
    status, out, err = _cli(capsys, "replay", s["run_file"], "--out", str(tmp_path / "replay"))
    assert status == 0, err
    again = json.loads(out.strip().splitlines()[-1])
    keep = lambda d: {k: v for k, v in d.items() if not (k in ("wall_s", "figure") or k.endswith(("_wall_s", "_file", "_file_bytes")))}  # noqa: E731
    assert keep(again) == keep(s)


def test_cli_bad_input_is_one_typed_line_naming_it_nothing_written(folder, tmp_path, capsys):
    arrays = dict(np.load(KWS))
    arrays["lstmBlocks__cell__weight_hh"] = arrays["lstmBlocks__cell__weight_hh"][:, :100]
    bad = tmp_path / "kws_bad.npz"
    np.savez(bad, **arrays)
    no_list = tmp_path / "no_list"
    no_list.mkdir()
    cases = [
        (["--model", str(bad)], "lstmBlocks__cell__weight_hh"),
        (["--model", str(MODELS / "mnist_cnn_7layer_3bit_wnoise0.15.npz")], "lstmBlocks__cell__weight_ih"),
        (["--data", str(no_list)], "testing_list.txt"),
        (["--limit", "0"], "limit"),
        (["--calibration-clips", "0"], "calibration_clips"),
        (["--batch", "0"], "batch"),
        (["--settle-s", "nan"], "settle_s"),
    ]
    for k, (args, named) in enumerate(cases):
        out = tmp_path / f"out{k}"
        argv = ["deploy", "kws-lstm", "--data", str(folder), *args, "--out", str(out)]
        status, _, err = _cli(capsys, *argv)
        assert status == 1, (args, err)
        lines = [ln for ln in err.strip().splitlines() if ln]
        assert len(lines) == 1 and named in lines[0] and lines[0].startswith("neurram: error:"), lines
        assert not out.exists() or not any(out.iterdir()), args


def test_public_functions_refuse_bad_arguments_with_typed_errors(model, folder):
    net, fresh = ChipKWS(None, model, mvm="exact"), ChipKWS(None, model, mvm="exact")
    feats = np.zeros((2, 50, 40))
    bad = [
        lambda: load_kws(None), lambda: ChipKWS(None, None, mvm="exact"), lambda: ChipKWS(None, model, mvm="nope"),
        lambda: forward(None, feats), lambda: forward(model, np.zeros((2, 50, 39))),
        lambda: forward(model, np.full((1, 5, 40), np.nan)), lambda: forward(model, "x"),
        lambda: forward(model, feats, mvm=3), lambda: features(np.zeros((2, 0, 40))),
        lambda: kws_mapping(model, cores=[0] * 36), lambda: kws_mapping(model, cores=range(20)),
        lambda: kws_mapping(model, cores=range(13, 49)), lambda: kws_mapping(None),
        lambda: fresh.predict(feats), lambda: fresh.calibrate(feats),  # not programmed
        lambda: ChipKWS(None, model, mvm="exact", gmin_s=0), lambda: ChipKWS(None, model, mvm="exact", gmax_s=np.nan),
        lambda: ChipKWS(None, model, mvm="exact", output_bits=0),
        lambda: speech_test_clips(folder, WORDS, limit=0), lambda: speech_test_clips(folder, WORDS[:11]),
        lambda: speech_test_clips(None, WORDS), lambda: training_clips(folder, WORDS, 0), lambda: load_waves(None),
        lambda: mfcc_features(np.zeros((2, 100))), lambda: read_wav(folder / "testing_list.txt"),
    ]
    net.program()
    bad += [lambda: net.predict(feats, batch=0), lambda: net.predict(feats, batch=-1),
            lambda: net.predict(feats, batch=np.nan), lambda: net.calibrate(feats, max_vectors=0),
            lambda: net.predict(feats, progress=5), lambda: net.program(iterations=0),
            lambda: net.program(settle_s=-1), lambda: net.group_mvm("zz", np.zeros((4, 1, 40)))]
    for k, f in enumerate(bad):
        with pytest.raises(NeuRRAMError):
            f()
            print("accepted: case", k)  # names the case when the test fails
    with pytest.raises((InputError, LimitError), match="lstmBlocks__cell__weight_ih"):
        load_kws(MODELS / "mnist_cnn_7layer_3bit_wnoise0.15.npz")


def test_lstm_cell_refuses_bad_arguments_with_typed_errors():
    from neurram_lab.deploy.lstm import ChipLSTMCell, quantize_signed

    rng = np.random.default_rng(0)
    wx, wh, b = rng.normal(0, 0.1, (8, 16)), rng.normal(0, 0.1, (4, 16)), np.zeros(16)
    mk = lambda **k: ChipLSTMCell(None, wx, wh, b, mvm="exact", **k)  # noqa: E731
    cell = mk()
    cell.program()
    bad = [lambda: mk(gmin_s=0), lambda: mk(gmin_s=5e-5, gmax_s=1e-5), lambda: mk(gmax_s=np.nan),
           lambda: mk(output_bits=0), lambda: mk(mvm_options="x"), lambda: mk(x_max=0), lambda: mk(cores=[0, 0]),
           lambda: cell.program(progress=5), lambda: cell.program(iterations=0),
           lambda: cell.gates(np.zeros((2, 7)), np.zeros((2, 4))), lambda: cell.gates(np.full((2, 8), np.nan),
                                                                                     np.zeros((2, 4))),
           lambda: cell.step(np.zeros((2, 8)), np.zeros((2, 4)), np.zeros((3, 4))),
           lambda: cell.run(np.zeros((1, 2, 8)), progress=3), lambda: cell.calibrate(np.zeros((1, 2, 7))),
           lambda: quantize_signed(np.zeros(3), 0, 1.0), lambda: quantize_signed(np.zeros(3), 4, 0.0),
           lambda: quantize_signed(np.zeros(3), 4, np.nan), lambda: quantize_signed("a", 4, 1.0)]
    for k, f in enumerate(bad):
        with pytest.raises(NeuRRAMError):
            f()
            print("accepted: case", k)  # names the case when the test fails
    assert (quantize_signed(np.array([-2.0, -0.5, 0.0, 0.49, 1.0]), 4, 1.0) == [-7, -3, 0, 3, 7]).all()
