# Variables for numpy's build and tests. Sourced before config.sh; everything exported here is
# passed explicitly to the build and test processes (also into cibuildwheel's containers) and
# recorded in wheelhouse/build-summary.json.

# Daily builds compile numpy with bogus strides to smoke out stride bugs downstream.
if [ "${NUMPY_WHEELS_MODE:-release}" = "daily" ]; then
    export NPY_RELAXED_STRIDES_DEBUG=1
fi

# The numpy test suite's memory guard (numpy gh-22418).
export NPY_AVAILABLE_MEM="${NPY_AVAILABLE_MEM:-4 GB}"
