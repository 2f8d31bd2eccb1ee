# Locates Apache Arrow C++ inside the pinned pyarrow wheel and defines
# imported targets bazof::arrow, bazof::parquet, bazof::arrow_dataset,
# bazof::arrow_compute, bazof::arrow_acero, bazof::arrow_s3.
#
# Input: BAZOF_PYTHON, the interpreter of the project's .venv.
# The pinned version lives in requirements.txt; we check the wheel against it
# so a stale .venv cannot silently build against another Arrow.

if(NOT BAZOF_PYTHON)
  message(FATAL_ERROR "Set BAZOF_PYTHON to the .venv python (scripts/setup.sh does this)")
endif()

execute_process(
  COMMAND "${BAZOF_PYTHON}" -c
    "import pyarrow as pa; print(pa.__version__); print(pa.get_include()); print(pa.get_library_dirs()[0])"
  OUTPUT_VARIABLE _pa_out RESULT_VARIABLE _pa_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _pa_rc EQUAL 0)
  message(FATAL_ERROR "pyarrow is not importable from ${BAZOF_PYTHON}; run scripts/setup.sh")
endif()
string(REPLACE "\n" ";" _pa_lines "${_pa_out}")
list(GET _pa_lines 0 BAZOF_ARROW_VERSION)
list(GET _pa_lines 1 BAZOF_ARROW_INCLUDE_DIR)
list(GET _pa_lines 2 BAZOF_ARROW_LIB_DIR)

file(STRINGS "${CMAKE_SOURCE_DIR}/requirements.txt" _pin REGEX "^pyarrow==")
string(REPLACE "pyarrow==" "" _pin "${_pin}")
if(NOT _pin STREQUAL BAZOF_ARROW_VERSION)
  message(FATAL_ERROR "pyarrow ${BAZOF_ARROW_VERSION} found, requirements.txt pins ${_pin}")
endif()
message(STATUS "Arrow C++ ${BAZOF_ARROW_VERSION} from pyarrow: ${BAZOF_ARROW_LIB_DIR}")

# The wheel ships only versioned sonames; the linker needs libarrow.so etc.
# (scripts/setup.sh makes them too; a pip build environment needs it here).
if(NOT EXISTS "${BAZOF_ARROW_LIB_DIR}/libarrow.so")
  execute_process(COMMAND "${BAZOF_PYTHON}" -c "import pyarrow; pyarrow.create_library_symlinks()")
endif()

foreach(_lib arrow parquet arrow_dataset arrow_compute arrow_acero arrow_s3)
  set(_path "${BAZOF_ARROW_LIB_DIR}/lib${_lib}.so")
  if(NOT EXISTS "${_path}")
    message(FATAL_ERROR "${_path} missing; run: ${BAZOF_PYTHON} -c 'import pyarrow; pyarrow.create_library_symlinks()'")
  endif()
  add_library(bazof::${_lib} SHARED IMPORTED)
  set_target_properties(bazof::${_lib} PROPERTIES
    IMPORTED_LOCATION "${_path}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${BAZOF_ARROW_INCLUDE_DIR}"
    INTERFACE_INCLUDE_DIRECTORIES "${BAZOF_ARROW_INCLUDE_DIR}")
endforeach()
