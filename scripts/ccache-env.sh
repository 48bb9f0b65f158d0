# Sourced by scripts/build.sh and scripts/sanitize.sh: compile through ccache when it is
# installed, with paths taken relative to this checkout so that every clone of the
# repository on the machine shares the cache. Sets EARSHOT_LAUNCHER (cmake arguments).
EARSHOT_LAUNCHER=()
if command -v ccache >/dev/null 2>&1 && [ "${EARSHOT_CCACHE:-1}" != 0 ]; then
  export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=true
  # The normal build and both sanitizer builds together outgrow ccache's default 5 GB.
  export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-16G}"
  EARSHOT_LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
