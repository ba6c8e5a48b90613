package custom.no_latest_test
this is not even rego, and _test.rego files are skipped
