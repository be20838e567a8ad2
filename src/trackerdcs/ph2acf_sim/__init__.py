"""A stand-in for Ph2_ACF's ``runCalibration``, for the demo stand and the tests.

Ph2_ACF (C++, µTCA firmware) cannot run here. This program takes its flags and prints its
log-line format and sequence, writes ``RunNumbers.dat``, ``Results/Run_N/`` with a real
``Results.root`` and ``Configuration.xml``, aborts on SIGINT, and can be told to fail in each
known way or to hang (environment variables, see :mod:`.main`). Nothing in the DCS imports it.
"""
