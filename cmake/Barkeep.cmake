# barkeep (https://github.com/oir/barkeep, Apache-2.0): the header-only
# progress bar library the bazof CLI draws its bars with (src/cli/progress_bar.cc).
# Its one header and its LICENSE come from the release's sdist on PyPI, pinned
# here and only here by SHA-256, downloaded once into a cache outside the
# clone (BAZOF_DEPS_CACHE, default ~/.cache/bazof) and reused offline after.
# BAZOF_BARKEEP_DIR may name a directory holding barkeep/barkeep.h instead.
set(BAZOF_BARKEEP_VERSION "0.1.6")
set(BAZOF_BARKEEP_URL
  "https://files.pythonhosted.org/packages/86/6e/7d04a6cef6174ba7aa0d4e99eabd11c82f55d7454bb08e270c6ca2699aa4/barkeep-0.1.6.tar.gz")
set(BAZOF_BARKEEP_SHA256 "2d742d1608861a39040ebddf645fcc7c948f8429651e850b31942ac54b9f1eb7")

if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(_bazof_default_cache "$ENV{XDG_CACHE_HOME}/bazof")
else()
  set(_bazof_default_cache "$ENV{HOME}/.cache/bazof")
endif()
set(BAZOF_DEPS_CACHE "${_bazof_default_cache}" CACHE PATH "Where bazof's build caches downloaded dependencies")
set(BAZOF_BARKEEP_DIR "${BAZOF_DEPS_CACHE}/barkeep-${BAZOF_BARKEEP_VERSION}"
    CACHE PATH "Directory holding barkeep/barkeep.h (and LICENSE)")

if(NOT EXISTS "${BAZOF_BARKEEP_DIR}/barkeep/barkeep.h")
  set(_tarball "${BAZOF_DEPS_CACHE}/barkeep-${BAZOF_BARKEEP_VERSION}.tar.gz")
  file(DOWNLOAD "${BAZOF_BARKEEP_URL}" "${_tarball}"
       EXPECTED_HASH SHA256=${BAZOF_BARKEEP_SHA256} STATUS _status TLS_VERIFY ON)
  list(GET _status 0 _code)
  if(NOT _code EQUAL 0)
    file(REMOVE "${_tarball}")
    message(FATAL_ERROR "barkeep ${BAZOF_BARKEEP_VERSION}: download of ${BAZOF_BARKEEP_URL} failed (${_status}); "
                        "set BAZOF_BARKEEP_DIR to a directory holding barkeep/barkeep.h")
  endif()
  set(_staging "${BAZOF_DEPS_CACHE}/barkeep-${BAZOF_BARKEEP_VERSION}.staging")
  file(REMOVE_RECURSE "${_staging}")
  file(ARCHIVE_EXTRACT INPUT "${_tarball}" DESTINATION "${_staging}"
       PATTERNS "barkeep-${BAZOF_BARKEEP_VERSION}/barkeep/barkeep.h" "barkeep-${BAZOF_BARKEEP_VERSION}/LICENSE")
  file(REMOVE_RECURSE "${BAZOF_BARKEEP_DIR}")
  # A rename, so a build killed half-way never leaves a half-extracted header.
  file(RENAME "${_staging}/barkeep-${BAZOF_BARKEEP_VERSION}" "${BAZOF_BARKEEP_DIR}")
  file(REMOVE_RECURSE "${_staging}")
  file(REMOVE "${_tarball}")
endif()
message(STATUS "barkeep ${BAZOF_BARKEEP_VERSION}: ${BAZOF_BARKEEP_DIR}")

add_library(bazof_barkeep INTERFACE)
target_include_directories(bazof_barkeep SYSTEM INTERFACE "${BAZOF_BARKEEP_DIR}")
# The license travels with the binaries that include the header.
configure_file("${BAZOF_BARKEEP_DIR}/LICENSE" "${CMAKE_BINARY_DIR}/licenses/barkeep-LICENSE.txt" COPYONLY)
