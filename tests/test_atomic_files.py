# Copyright 2026 The waste_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""atomic_files: a file is the old or the new one, never half; durable writes never overwrite."""

import os
from pathlib import Path
import signal
import subprocess
import sys

import pytest

from waste_classifier_ros.core.atomic_files import (
    IMAGE_SUFFIXES,
    atomic_write,
    is_image,
    temporary_name,
    write_durably,
)

ROOT = Path(__file__).resolve().parent.parent


def test_atomic_write_replaces_the_file_with_bytes_a_copy_or_what_a_writer_writes(tmp_path):
    target, source = tmp_path / 'model.onnx', tmp_path / 'source.bin'
    source.write_bytes(b'copied')
    atomic_write(target, b'first')
    assert target.read_bytes() == b'first'
    atomic_write(target, source)
    assert target.read_bytes() == b'copied'
    atomic_write(target, lambda out: out.write(b'written'))
    assert target.read_bytes() == b'written'
    assert sorted(path.name for path in tmp_path.iterdir()) == ['model.onnx', 'source.bin']


def test_a_failing_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / 'labels.txt'
    target.write_bytes(b'old')

    def fail_halfway(out):
        out.write(b'half of the new')
        raise OSError(28, 'No space left on device')

    with pytest.raises(OSError, match='No space left'):
        atomic_write(target, fail_halfway)
    assert target.read_bytes() == b'old'
    assert [path.name for path in tmp_path.iterdir()] == ['labels.txt']


def test_sigkill_in_the_middle_of_a_write_leaves_the_old_file(tmp_path):
    target, ready = tmp_path / 'model_card.json', tmp_path / 'ready'
    target.write_bytes(b'old')
    program = (
        'import sys, time\n'
        'from pathlib import Path\n'
        'from waste_classifier_ros.core.atomic_files import atomic_write\n'
        'def write(out):\n'
        '    out.write(b"half of the new")\n'
        '    out.flush()\n'
        '    Path(sys.argv[2]).write_text("writing")\n'
        '    time.sleep(60)\n'
        'atomic_write(Path(sys.argv[1]), write)\n')
    writer = subprocess.Popen([sys.executable, '-c', program, str(target), str(ready)], cwd=ROOT)
    try:
        for _ in range(300):  # bounded: 30 s for the writer to reach the middle of its write
            if ready.exists() or writer.poll() is not None:
                break
            try:
                writer.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        assert ready.exists(), f'the writer never got to its write (exit code {writer.poll()})'
        assert (tmp_path / f'.{target.name}.{writer.pid}.tmp').exists()  # half written
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=10) == -signal.SIGKILL
    finally:
        writer.kill()
    assert target.read_bytes() == b'old'


def test_write_durably_never_overwrites_unless_told(tmp_path):
    path = tmp_path / 'capture.jpg'
    write_durably(path, b'jpeg')
    with pytest.raises(FileExistsError):
        write_durably(path, b'other')
    assert path.read_bytes() == b'jpeg'
    write_durably(path, b'other', exclusive=False)
    assert path.read_bytes() == b'other'


def test_temporary_names_are_hidden_beside_the_target_and_per_process(tmp_path):
    temporary = temporary_name(tmp_path / 'best.ckpt')
    assert temporary.parent == tmp_path and temporary.name.startswith('.best.ckpt.')
    assert str(os.getpid()) in temporary.name


def test_image_suffixes_in_any_case():
    assert {'.jpg', '.png', '.webp'} <= IMAGE_SUFFIXES
    assert is_image(Path('a/B.JPG')) and is_image(Path('c.Tiff'))
    assert not is_image(Path('c.json')) and not is_image(Path('jpg'))


def test_it_needs_only_the_standard_library():
    # The node, the flywheel and training all import it: no ROS, no numpy, no torch.
    code = ('import sys, waste_classifier_ros.core.atomic_files\n'
            'print(sorted({m.split(".")[0] for m in sys.modules}))\n')
    run = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    loaded = set(run.stdout.split("'")[1::2])
    assert 'waste_classifier_ros' in loaded
    assert not loaded & {'rclpy', 'numpy', 'cv2', 'torch', 'yaml'}, loaded
