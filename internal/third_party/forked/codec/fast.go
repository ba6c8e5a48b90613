package codec

// This file is secure-gates' own (not a copy from gitleaks): a hand-written
// scanner with exactly the matches of encodingsRe, Go's leftmost-first
// semantics included. fast_test.go compares the two on generated and fuzzed
// input.

var (
	isHex    [256]bool // [0-9A-Fa-f]
	isB64    [256]bool // [\w\/+-]
	isReWS   [256]bool // \s in Go's RE2 syntax: [\t\n\f\r ]
	startSet [256]bool // the bytes a match can start with
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		isHex[c] = '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
		isB64[c] = '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_' || b == '/' || b == '+' || b == '-'
		isReWS[c] = b == '\t' || b == '\n' || b == '\f' || b == '\r' || b == ' '
		startSet[c] = b == '%' || b == '\\' || isB64[c] // 'U' and the hex digits are base64 characters
	}
}

// The alternatives of encodingsRe, in its order (the index into encodings).
const (
	altPercent = iota
	altUnicode
	altHex
	altBase64
)

// hex4 reports whether data[i:i+4] are four hex digits.
func hex4(data string, i int) bool {
	return i+4 <= len(data) && isHex[data[i]] && isHex[data[i+1]] && isHex[data[i+2]] && isHex[data[i+3]]
}

// scanEncodings calls f(alternative, start, end) for each match of
// encodingsRe.FindAllStringSubmatchIndex(data, -1), in order:
//
//	(?P<percent>%[0-9A-Fa-f]{2}(?:.*%[0-9A-Fa-f]{2})?)
//	|(?P<unicode>(?:(?:U\+[a-fA-F0-9]{4}(?:\s|$))+|(?i)(?:\\{1,2}u[a-fA-F0-9]{4})+))
//	|(?P<hex>[0-9A-Fa-f]{32,})
//	|(?P<base64>[\w\/+-]{16,}={0,2})
//
// Every alternative starts with an ASCII byte, and an ASCII byte is always a
// rune boundary where Go's matcher tries a match (a continuation byte of UTF-8
// is >= 0x80; invalid bytes are runes of width 1), so trying each byte
// position in order, the alternatives in their order at each, finds the
// leftmost-first match; the next search starts at its end (no alternative
// matches the empty string).
func scanEncodings(data string, f func(alt, start, end int)) {
	n := len(data)
	hexEnd, b64End := 0, 0 // end of the run of hex / base64 bytes holding i, when i < that end
	for i := 0; i < n; {
		c := data[i]
		if !startSet[c] {
			i++
			continue
		}
		if alt, end := matchAt(data, i, &hexEnd, &b64End); end > i {
			f(alt, i, end)
			i = end
			continue
		}
		i++
	}
}

// matchAt returns the first alternative matching at i and the end of its
// match, or end == i when none does.
func matchAt(data string, i int, hexEnd, b64End *int) (alt, end int) {
	n := len(data)
	c := data[i]
	switch c {
	case '%':
		// %XX, then greedily `.*%XX`: the last %XX before the end of the line.
		if i+3 > n || !isHex[data[i+1]] || !isHex[data[i+2]] {
			break
		}
		end = i + 3
		for j := i + 3; j+3 <= n && data[j] != '\n'; j++ {
			if data[j] == '%' && isHex[data[j+1]] && isHex[data[j+2]] {
				end = j + 3
			}
		}
		return altPercent, end
	case 'U':
		// (?:U\+XXXX(?:\s|$))+
		x := i
		for x+6 <= n && data[x] == 'U' && data[x+1] == '+' && hex4(data, x+2) {
			if x+6 < n && isReWS[data[x+6]] {
				x += 7
				continue
			}
			if x+6 == n { // `$`: the end of the text
				x += 6
			}
			break
		}
		if x > i {
			return altUnicode, x
		}
	case '\\':
		// (?i)(?:\\{1,2}u XXXX)+
		x := i
		for x < n && data[x] == '\\' {
			if x+2 < n && data[x+1] == '\\' && data[x+2]|0x20 == 'u' && hex4(data, x+3) {
				x += 7
			} else if x+1 < n && data[x+1]|0x20 == 'u' && hex4(data, x+2) {
				x += 6
			} else {
				break
			}
		}
		if x > i {
			return altUnicode, x
		}
		return 0, i // a backslash is no hex or base64 character
	}
	if isHex[c] {
		if i >= *hexEnd {
			j := i
			for j < n && isHex[data[j]] {
				j++
			}
			*hexEnd = j
		}
		if *hexEnd-i >= 32 {
			return altHex, *hexEnd
		}
	}
	if isB64[c] {
		if i >= *b64End {
			j := i
			for j < n && isB64[data[j]] {
				j++
			}
			*b64End = j
		}
		if end := *b64End; end-i >= 16 {
			for k := 0; k < 2 && end < n && data[end] == '='; k++ {
				end++
			}
			return altBase64, end
		}
	}
	return 0, i
}
