"""Two processes (a grid's trials, parallel test workers) starting on the same embedded set at once: the set is
written once, under the lock beside its folder, and nobody reads an image while another rewrites it."""

import threading

import cv2

import yolo_attn.data.synthetic as synthetic


def test_concurrent_first_uses_write_the_set_once(tmp_path, monkeypatch):
    writes, real = [], cv2.imwrite
    started = threading.Barrier(2)

    def counted(path, img):
        writes.append(path)
        return real(path, img)

    monkeypatch.setattr(synthetic.cv2, "imwrite", counted)
    results = []

    def first_use():
        started.wait()  # both check "not complete yet" before either writes
        results.append(synthetic.make_dataset(tmp_path / "set", n_train=6, n_val=3, imgsz=32))

    threads = [threading.Thread(target=first_use) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    assert len(writes) == 9, len(writes)  # 6 + 3 images, once: the second caller found the set complete
    assert (tmp_path / ".set.lock").exists()
    synthetic.make_dataset(tmp_path / "set", n_train=6, n_val=3, imgsz=32)  # later uses write nothing
    assert len(writes) == 9
