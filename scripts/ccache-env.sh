# Sourced by the build scripts. When ccache is installed, compile through it, with paths taken
# relative to the checkout, so that another clone of the same sources (CI's clean clone) finds
# what an earlier build compiled. Without ccache nothing changes. Set the variables yourself to
# override; CMake reads the launchers when a build directory is first configured.
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER:-ccache}
  export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
  export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
fi
