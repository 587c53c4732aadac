#!/usr/bin/env bash
# Install Mural Studio into the current user's desktop: the launcher (.desktop entry), the
# icons (hicolor theme, every size) and the .mural project file type, all under
# ${XDG_DATA_HOME:-~/.local/share}. Running it again replaces what it installed.
#
#   packaging/install-linux.sh                          the `muralstudio` on PATH (pip install)
#   packaging/install-linux.sh --exec dist/muralstudio/muralstudio    the built folder app
#   dist/muralstudio/install-linux.sh                   from the folder app: its own program
#   install-linux.sh --uninstall                        remove all of it again
#
# The desktop and MIME databases and the icon cache are refreshed when their tools exist
# (update-desktop-database, update-mime-database, gtk-update-icon-cache).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
apps=$data_home/applications
mime=$data_home/mime
icons=$data_home/icons/hicolor
sizes="16 32 48 64 128 256 512"
exec_path=""
uninstall=0

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "install-linux.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --exec) [ $# -ge 2 ] || die "--exec needs the path of the muralstudio program"; exec_path=$2; shift 2 ;;
    --exec=*) exec_path=${1#--exec=}; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

refresh() {
  if command -v update-desktop-database >/dev/null 2>&1 && [ -d "$apps" ]; then
    update-desktop-database -q "$apps" || true
  fi
  if command -v update-mime-database >/dev/null 2>&1 && [ -d "$mime/packages" ]; then
    update-mime-database "$mime" >/dev/null || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -d "$icons" ]; then
    gtk-update-icon-cache -q -f -t "$icons" || true
  fi
}

if [ "$uninstall" = 1 ]; then
  rm -f "$apps/muralstudio.desktop" "$mime/packages/muralstudio.xml" "$icons/scalable/apps/muralstudio.svg"
  for n in $sizes; do rm -f "$icons/${n}x${n}/apps/muralstudio.png"; done
  refresh
  echo "Mural Studio removed from $data_home (the program itself is left where it is)."
  exit 0
fi

# Where the files to install are: beside this script in a source checkout (packaging/ and
# ../resources/icons), or in the folder app's _internal/ when the build copied it there.
if [ -f "$here/muralstudio.desktop" ]; then
  desktop_src=$here/muralstudio.desktop mime_src=$here/muralstudio-mime.xml icon_src=$here/../resources/icons
elif [ -f "$here/_internal/packaging/muralstudio.desktop" ]; then
  desktop_src=$here/_internal/packaging/muralstudio.desktop mime_src=$here/_internal/packaging/muralstudio-mime.xml
  icon_src=$here/_internal/resources/icons
else
  die "cannot find muralstudio.desktop beside this script or in $here/_internal/packaging"
fi
[ -f "$icon_src/muralstudio.svg" ] || die "cannot find the icons in $icon_src"

# The program the launcher starts: --exec, else the folder app this script sits in, else PATH.
if [ -z "$exec_path" ]; then
  if [ -x "$here/muralstudio" ] && [ -f "$here/muralstudio" ]; then
    exec_path=$here/muralstudio
  else
    exec_path=$(command -v muralstudio || true)
    [ -n "$exec_path" ] || die "no 'muralstudio' on PATH; install it (pip) or pass --exec PATH"
  fi
fi
case "$exec_path" in /*) ;; *) exec_path=$(cd "$(dirname "$exec_path")" && pwd)/$(basename "$exec_path") ;; esac
[ -x "$exec_path" ] && [ -f "$exec_path" ] || die "$exec_path is not an executable program"
case "$exec_path" in
  *[\"\`\$\\%]*) die "the program's path contains a character a launcher cannot quote: $exec_path" ;;
  *[!A-Za-z0-9_/.+,@=-]*) exec_field="\"$exec_path\"" ;;  # spaces and the like: quoted
  *) exec_field=$exec_path ;;
esac

mkdir -p "$apps" "$mime/packages" "$icons/scalable/apps"
while IFS= read -r line; do  # the entry as shipped, its Exec line pointing at the program
  case $line in
    "Exec=muralstudio "*) printf 'Exec=%s %s\n' "$exec_field" "${line#Exec=muralstudio }" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$desktop_src" > "$apps/muralstudio.desktop.tmp"
mv -f "$apps/muralstudio.desktop.tmp" "$apps/muralstudio.desktop"
cp -f "$mime_src" "$mime/packages/muralstudio.xml"
cp -f "$icon_src/muralstudio.svg" "$icons/scalable/apps/muralstudio.svg"
for n in $sizes; do
  if [ -f "$icon_src/muralstudio-$n.png" ]; then
    mkdir -p "$icons/${n}x${n}/apps"
    cp -f "$icon_src/muralstudio-$n.png" "$icons/${n}x${n}/apps/muralstudio.png"
  fi
done
if command -v desktop-file-validate >/dev/null 2>&1; then
  desktop-file-validate "$apps/muralstudio.desktop" | grep -v ': hint: ' >&2 || true
fi
refresh
echo "Mural Studio installed in $data_home: launcher (starts $exec_path), icons, .mural file type."
