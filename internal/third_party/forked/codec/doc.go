// Package codec is gitleaks v8.30.1's detect/codec (MIT License, Copyright (c)
// 2019 Zachary Rice; see LICENSE.gitleaks): the decoder of base64, hex,
// percent and unicode escapes that the detector's later passes scan. It is a
// copy because its segments' fields are unexported, so the secrets package's
// detector could not build on gitleaks' own. The one change is in
// findEncodingMatches: the encodings' regexp (a quarter of the detector's
// time) is replaced by scanEncodings (fast.go), which finds the same matches;
// fast_test.go compares the two. Every other .go file is gitleaks' unchanged;
// fast.go and fast_test.go are ours.
package codec
