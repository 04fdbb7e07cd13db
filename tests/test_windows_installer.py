"""What the NSIS script gives Windows users: Start-menu entries, the *.sigma association, a clean uninstall.

The script compiles in ``tests/test_bundle.py`` (with makensis); here its entries are read as text, so
these checks run without NSIS. Running the installer itself needs Windows (docs/WINDOWS.md).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = (ROOT / "installer" / "sigma-studio.nsi").read_text(encoding="utf-8")


def _defines() -> dict[str, str]:
    return dict(re.findall(r'^!define\s+(\w+)\s+"([^"]*)"', SCRIPT, re.M))


def _section(name: str) -> str:
    match = re.search(rf'^Section "{re.escape(name)}".*?^SectionEnd', SCRIPT, re.M | re.S)
    assert match, f"no section {name!r}"
    return match.group(0)


def test_the_association_opens_sigma_files_with_the_studio():
    d = _defines()
    install = _section("${APP_NAME}")
    assert d["PROJECT_EXT"] == ".sigma" and d["APP_EXE"] == "sigma-studio.exe"
    assert 'WriteRegStr HKLM "Software\\Classes\\${PROJECT_EXT}" "" "${PROG_ID}"' in install
    assert '\\shell\\open\\command" "" \'"$INSTDIR\\${APP_EXE}" "%1"\'' in install  # quoted: spaces
    assert '${PROG_ID}\\DefaultIcon" "" "$INSTDIR\\${APP_EXE},0"' in install
    assert "${NOTIFY_ASSOC}" in install and "SHChangeNotify" in SCRIPT


def test_start_menu_entries_for_the_studio_and_the_command_line():
    install = _section("${APP_NAME}")
    assert 'CreateShortcut "$SMPROGRAMS\\${APP_NAME}\\${APP_NAME}.lnk" "$INSTDIR\\${APP_EXE}"' in install
    assert "Sigma command prompt.lnk" in install and "PATH=$INSTDIR;%PATH%" in install


def test_uninstall_removes_what_install_added_and_only_its_own_association():
    uninstall = _section("Uninstall")
    for link in ("${APP_NAME}.lnk", "Sigma command prompt.lnk"):
        assert f'Delete "$SMPROGRAMS\\${{APP_NAME}}\\{link}"' in uninstall
    assert 'RMDir "$SMPROGRAMS\\${APP_NAME}"' in uninstall
    # .sigma is removed only while it still points at our ProgID (another program may have taken it)
    check = uninstall.index('ReadRegStr $0 HKLM "Software\\Classes\\${PROJECT_EXT}"')
    assert check < uninstall.index('DeleteRegKey HKLM "Software\\Classes\\${PROJECT_EXT}"')
    assert 'DeleteRegKey HKLM "Software\\Classes\\${PROG_ID}"' in uninstall
    assert "RMDir /r" not in uninstall  # files the user put in the folder survive
