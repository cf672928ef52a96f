# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files the modules write on the control node."""

from __future__ import annotations

import os
import tempfile


def write_atomic(path, content, mode, directory_mode=0o755):
    """Write ``content`` (bytes) to ``path`` with permissions ``mode``, all at once: a reader sees the old file or the
    new one, never a part. os.replace keeps the mode of the temporary file (atomic_move would apply the umask to a
    new file)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=directory_mode, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + "-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
