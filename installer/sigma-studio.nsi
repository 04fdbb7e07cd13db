; Sigma Studio installer (NSIS 3, Unicode, 64-bit Windows).
;
; Installs the PyInstaller bundle (dist\sigma-studio) into Program Files, adds Start-menu entries (the
; studio, and a command prompt with the `sigma` command on PATH),
; associates project files (*.sigma) with the studio, and registers an uninstaller that removes exactly
; the installed files (lists written by installer\nsis_filelist.py), the shortcut and the registry keys.
;
; Build, from the repository root (see README, "Building the Windows installer"):
;   pyinstaller --noconfirm build_installer.spec
;   python installer\nsis_filelist.py
;   makensis /DVERSION=0.1.0 installer\sigma-studio.nsi
; Result: dist\SigmaStudio-<version>-setup.exe.
;
; Defines (makensis /DNAME=value): VERSION, DIST_DIR (the bundle), LISTS_DIR (the generated lists),
; OUT_FILE (the installer to write). Relative paths are relative to this script's folder.

Unicode true
SetCompressor /SOLID lzma

!ifndef VERSION
  !define VERSION "0.1.0"
!endif
!ifndef DIST_DIR
  !define DIST_DIR "..\dist\sigma-studio"
!endif
!ifndef LISTS_DIR
  !define LISTS_DIR "..\build\nsis"
!endif
!ifndef OUT_FILE
  !define OUT_FILE "..\dist\SigmaStudio-${VERSION}-setup.exe"
!endif

!define APP_NAME "Sigma Studio"
!define APP_EXE "sigma-studio.exe"
!define PUBLISHER "Sigma Studio"
!define PROG_ID "SigmaStudio.Project"
!define PROJECT_EXT ".sigma"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\SigmaStudio"
!define SETTINGS_KEY "Software\SigmaStudio"
; SHChangeNotify(SHCNE_ASSOCCHANGED): Explorer picks up the new file association without a restart.
!define NOTIFY_ASSOC "System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'"

!include "MUI2.nsh"
!include "x64.nsh"

Name "${APP_NAME} ${VERSION}"
OutFile "${OUT_FILE}"
InstallDir "$PROGRAMFILES64\${APP_NAME}"
InstallDirRegKey HKLM "${SETTINGS_KEY}" "InstallDir"
RequestExecutionLevel admin
ManifestDPIAware true
BrandingText "${APP_NAME} ${VERSION}"

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP_NAME}"
VIAddVersionKey "FileDescription" "${APP_NAME} installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "LegalCopyright" "MIT licence"

!define MUI_ICON "sigma-studio.ico"
!define MUI_UNICON "sigma-studio.ico"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APP_EXE}"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP_NAME}"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "${APP_NAME} needs 64-bit Windows."
    Abort
  ${EndIf}
  SetRegView 64
FunctionEnd

Function un.onInit
  SetRegView 64
FunctionEnd

Section "${APP_NAME}" SecMain
  SectionIn RO
  SetShellVarContext all
  !include "${LISTS_DIR}\files_install.nsh"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; Start menu: the studio, and a command prompt where the headless `sigma` command is on PATH (the
  ; installer leaves the system PATH alone).
  CreateDirectory "$SMPROGRAMS\${APP_NAME}"
  CreateShortcut "$SMPROGRAMS\${APP_NAME}\${APP_NAME}.lnk" "$INSTDIR\${APP_EXE}" "" "$INSTDIR\${APP_EXE}" 0
  CreateShortcut "$SMPROGRAMS\${APP_NAME}\Sigma command prompt.lnk" "$SYSDIR\cmd.exe" \
    '/k cd /d "%USERPROFILE%" && set "PATH=$INSTDIR;%PATH%" && sigma --help' "$INSTDIR\sigma.exe" 0

  ; Project files: .sigma -> SigmaStudio.Project, opened by the studio with the file as its argument.
  WriteRegStr HKLM "Software\Classes\${PROJECT_EXT}" "" "${PROG_ID}"
  WriteRegStr HKLM "Software\Classes\${PROJECT_EXT}" "Content Type" "application/json"
  WriteRegStr HKLM "Software\Classes\${PROG_ID}" "" "${APP_NAME} project"
  WriteRegStr HKLM "Software\Classes\${PROG_ID}\DefaultIcon" "" "$INSTDIR\${APP_EXE},0"
  WriteRegStr HKLM "Software\Classes\${PROG_ID}\shell\open\command" "" '"$INSTDIR\${APP_EXE}" "%1"'
  ${NOTIFY_ASSOC}

  WriteRegStr HKLM "${SETTINGS_KEY}" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${APP_EXE},0"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  SetShellVarContext all
  Delete "$SMPROGRAMS\${APP_NAME}\${APP_NAME}.lnk"
  Delete "$SMPROGRAMS\${APP_NAME}\Sigma command prompt.lnk"
  RMDir "$SMPROGRAMS\${APP_NAME}"

  ; Remove the association only while it is still ours (another program may have taken .sigma since).
  ReadRegStr $0 HKLM "Software\Classes\${PROJECT_EXT}" ""
  StrCmp $0 "${PROG_ID}" 0 +2
    DeleteRegKey HKLM "Software\Classes\${PROJECT_EXT}"
  DeleteRegKey HKLM "Software\Classes\${PROG_ID}"
  ${NOTIFY_ASSOC}

  !include "${LISTS_DIR}\files_uninstall.nsh"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"  ; only when empty: files the user added to the folder are kept

  DeleteRegKey HKLM "${UNINSTALL_KEY}"
  DeleteRegKey HKLM "${SETTINGS_KEY}"
SectionEnd
