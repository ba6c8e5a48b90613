package attestation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// checkJSONObject reports whether data is exactly one JSON object, valid UTF-8,
// with no key repeated inside any object at any depth. Duplicate keys are where
// JSON parsers disagree (first wins or last wins), so a signed document that
// carries them can mean different things to the signer and to us.
func checkJSONObject(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*jsonFrame
	first := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if first || len(stack) != 0 {
				return errors.New("invalid JSON: unexpected end of input")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("invalid JSON: %w", err)
		}
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return fmt.Errorf("want a JSON object, got %s", describeToken(tok))
			}
		} else if len(stack) == 0 {
			return errors.New("invalid JSON: more than one top-level value")
		}
		first = false

		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				valueDone(stack)
				continue
			}
			key, _ := tok.(string) // the decoder only yields strings in key position
			if _, dup := top.keys[key]; dup {
				return fmt.Errorf("duplicate key %q", truncate(key))
			}
			top.keys[key] = struct{}{}
			top.expectKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &jsonFrame{object: true, expectKey: true, keys: map[string]struct{}{}})
		case json.Delim('['):
			stack = append(stack, &jsonFrame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone(stack)
		default:
			valueDone(stack)
		}
	}
}

// jsonFrame is one open object or array in checkJSONObject's walk.
type jsonFrame struct {
	object    bool
	expectKey bool
	keys      map[string]struct{}
}

// valueDone records that the innermost open object, if any, got the value for
// its current key.
func valueDone(stack []*jsonFrame) {
	if len(stack) > 0 && stack[len(stack)-1].object {
		stack[len(stack)-1].expectKey = true
	}
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return fmt.Sprintf("%q", v.String())
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T", v)
	}
}
