package iac

import (
	"maps"
	"testing"
)

// A plan's findings are at the line of the resource's address when the JSON
// is pretty-printed (the first occurrence), and at no line on one line.
func TestAddressLines(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, plan string
		want       map[string]int
	}{
		{name: "one line", plan: `{"planned_values": {"root_module": {"resources": [{"address": "aws_s3_bucket.a"}]}}}`, want: map[string]int{}},
		{name: "pretty", plan: "{\n  \"address\": \"module.m\",\n  \"resources\": [\n    {\n      \"address\": \"aws_s3_bucket.a\",\n      \"mode\": \"managed\"\n    },\n    {\n      \"address\": \"aws_s3_bucket.b\"\n    }\n  ]\n}\n",
			want: map[string]int{"module.m": 2, "aws_s3_bucket.a": 5, "aws_s3_bucket.b": 9}},
		{name: "first occurrence", plan: "{\n\"address\": \"x\",\n\"address\": \"x\"\n}", want: map[string]int{"x": 2}},
	} {
		if got := addressLines([]byte(tt.plan)); !maps.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
