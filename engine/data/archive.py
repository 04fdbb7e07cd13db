"""Safe extraction of zip and tar(.gz/.bz2/.xz) archives.

Every entry is checked before anything is written: no absolute paths or drive letters, no ``..``
components, no links that point outside the target folder, no device files, and limits on the
number of entries and on the total uncompressed size (a zip bomb announces small files and inflates
them, so bytes are also counted while copying). Errors name the archive and the entry.
"""

from __future__ import annotations

import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
import zlib

from engine.data.errors import DataImportError

__all__ = ["is_archive", "safe_extract", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_ENTRIES"]

DEFAULT_MAX_BYTES = 4 << 30
DEFAULT_MAX_ENTRIES = 200_000
#: Folder levels an entry's path may have (a zip can name a file under thousands of folders).
MAX_DEPTH = 32
#: Archives inside archives that are unpacked in turn (a zip of a zip of a zip...).
MAX_NESTING = 3
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def is_archive(path) -> bool:
    """Return whether ``path`` is a zip or tar file (by its name, then by its content)."""
    name = os.fspath(path).lower()
    if name.endswith(".zip") or name.endswith(_TAR_SUFFIXES):
        return True
    # .npz files are zips too, but they are arrays, not a folder of files.
    if name.endswith(".npz") or not os.path.isfile(path):
        return False
    try:
        return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)
    except (OSError, EOFError, zlib.error, lzma.LZMAError, tarfile.TarError, ValueError):
        # A truncated or damaged .gz/.bz2/.xz is not recognisably a tar; its reader says what is wrong.
        return False


def _check_name(archive: str, name: str) -> str:
    """Return the entry's normalised relative path, or raise naming the entry."""
    if not name or "\x00" in name:
        raise DataImportError(f"archive entry {name!r} has an invalid name", archive)
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        raise DataImportError(f"archive entry {name!r} has an absolute path; refusing to extract", archive)
    parts = [p for p in unified.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise DataImportError(
            f"archive entry {name!r} escapes the target folder ('..'); refusing to extract", archive
        )
    if len(parts) > MAX_DEPTH:
        raise DataImportError(
            f"archive entry {_short(name)!r} is {len(parts)} folders deep, more than the limit {MAX_DEPTH}",
            archive,
        )
    if any(len(p.encode("utf-8", "surrogateescape")) > 255 for p in parts):
        raise DataImportError(f"archive entry {_short(name)!r} has a name part over 255 bytes", archive)
    return "/".join(parts)


def _short(name: str, limit: int = 120) -> str:
    """An entry name cut for a message (a hostile name can be megabytes long)."""
    return name if len(name) <= limit else name[: limit // 2] + "..." + name[-limit // 2 :]


def _inside(relative_dir: str, link_target: str) -> bool:
    """Whether a link at ``relative_dir`` pointing to ``link_target`` stays inside the root."""
    if link_target.startswith("/") or (len(link_target) > 1 and link_target[1] == ":"):
        return False
    joined = posixpath.normpath(posixpath.join(relative_dir, link_target.replace("\\", "/")))
    return not (joined == ".." or joined.startswith("../"))


def safe_extract(
    archive, target, max_bytes: int = DEFAULT_MAX_BYTES, max_entries: int = DEFAULT_MAX_ENTRIES, ctx=None
) -> str:
    """Extract ``archive`` into the folder ``target`` after checking every entry.

    Parameters
    ----------
    archive : str or PathLike
        A ``.zip``, ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2`` or ``.tar.xz`` file.
    target : str or PathLike
        Folder to extract into (created if missing).
    max_bytes : int
        Limit on the total uncompressed size.
    max_entries : int
        Limit on the number of entries.
    ctx : ImportContext, optional
        For cancellation between entries.

    Returns
    -------
    str
        The target folder.

    Raises
    ------
    DataImportError
        Naming the archive (``file``) and the offending entry in the message.
    """
    archive = os.fspath(archive)
    target = os.path.abspath(os.fspath(target))
    os.makedirs(target, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, target, max_bytes, max_entries, ctx)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, target, max_bytes, max_entries, ctx)
        else:
            raise DataImportError("not a zip or tar archive", archive)
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        EOFError,
        OSError,
        zlib.error,
        lzma.LZMAError,
        NotImplementedError,  # a zip compression method Python lacks
        RuntimeError,  # an encrypted zip entry
        ValueError,
        UnicodeDecodeError,
    ) as exc:
        if isinstance(exc, FileNotFoundError) and exc.filename == archive:
            raise DataImportError("file disappeared during import", archive) from exc
        raise DataImportError(f"archive is damaged or unreadable ({exc})", archive) from exc
    return target


class _Budget:
    def __init__(self, archive: str, max_bytes: int):
        self.archive, self.left = archive, max_bytes

    def take(self, n: int, entry: str) -> None:
        self.left -= n
        if self.left < 0:
            raise DataImportError(
                f"archive entry {entry!r} takes the archive over its size limit", self.archive
            )


def _copy(src, dst_path: str, budget: _Budget, entry: str) -> None:
    with open(dst_path, "wb") as dst:
        while chunk := src.read(1 << 20):
            budget.take(len(chunk), entry)
            dst.write(chunk)


def _extract_zip(archive: str, target: str, max_bytes: int, max_entries: int, ctx) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise DataImportError(
                f"archive has {len(infos)} entries, more than the limit {max_entries}", archive
            )
        planned = []
        announced = 0
        for info in infos:
            rel = _check_name(archive, info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise DataImportError(
                    f"archive entry {info.filename!r} is a symbolic link; refusing to extract", archive
                )
            announced += info.file_size
            planned.append((info, rel))
        if announced > max_bytes:
            raise DataImportError(
                f"archive unpacks to {announced} bytes, more than the limit {max_bytes}", archive
            )
        budget = _Budget(archive, max_bytes)
        for info, rel in planned:
            if ctx is not None:
                ctx.check_cancel()
            if not rel:
                continue
            path = os.path.join(target, *rel.split("/"))
            if info.is_dir():
                os.makedirs(path, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with zf.open(info) as src:
                _copy(src, path, budget, info.filename)


def _extract_tar(archive: str, target: str, max_bytes: int, max_entries: int, ctx) -> None:
    with tarfile.open(archive) as tf:
        members = []
        announced = 0
        for member in tf:
            members.append(member)
            if len(members) > max_entries:
                raise DataImportError(f"archive has more entries than the limit {max_entries}", archive)
            rel = _check_name(archive, member.name)
            if member.issym() or member.islnk():
                base = posixpath.dirname(rel) if member.issym() else ""
                if not _inside(base, member.linkname):
                    raise DataImportError(
                        f"archive entry {member.name!r} links to {member.linkname!r} "
                        "outside the target folder",
                        archive,
                    )
            elif not (member.isfile() or member.isdir()):
                raise DataImportError(f"archive entry {member.name!r} is a device or special file", archive)
            announced += member.size if member.isfile() else 0
        if announced > max_bytes:
            raise DataImportError(
                f"archive unpacks to {announced} bytes, more than the limit {max_bytes}", archive
            )
        budget = _Budget(archive, max_bytes)
        links = []
        for member in members:
            if ctx is not None:
                ctx.check_cancel()
            rel = _check_name(archive, member.name)
            if not rel:
                continue
            path = os.path.join(target, *rel.split("/"))
            if member.isdir():
                os.makedirs(path, exist_ok=True)
            elif member.isfile():
                os.makedirs(os.path.dirname(path), exist_ok=True)
                src = tf.extractfile(member)
                _copy(src, path, budget, member.name)
            else:
                links.append((member, rel, path))
        # Links are materialised as copies of their (checked, in-archive) targets, after all files
        # exist: no symlink is ever created, so nothing written later can be redirected through one.
        for member, rel, path in links:
            base = posixpath.dirname(rel) if member.issym() else ""
            source_rel = posixpath.normpath(posixpath.join(base, member.linkname.replace("\\", "/")))
            source = os.path.join(target, *source_rel.split("/"))
            if os.path.isfile(source) and not os.path.islink(source):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                budget.take(os.path.getsize(source), member.name)
                shutil.copyfile(source, path)
            elif ctx is not None:
                ctx.warn(f"archive link {member.name!r} points to a missing file; left out", archive)
