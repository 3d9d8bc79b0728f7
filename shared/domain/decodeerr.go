package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// DecodeError describes an encoding/json decoding error without quoting
// any of the input, for error texts that reach logs and dead-letter
// reasons: encoding/json and time quote the offending value ("cannot
// unmarshal number 1e999", `parsing time "..."`), and a value is payload
// data. A wrong type names the field (its path of JSON names, e.g.
// "data.object.amount") and what it should be; a syntax error its byte
// offset; anything else is "invalid value".
func DecodeError(err error) string {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Sprintf("field %s: want %s", field, want(typ.Type))
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	}
	return "invalid value"
}

// want names what a Go type takes in JSON.
func want(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	if t == reflect.TypeFor[time.Time]() || t == reflect.TypeFor[Time]() {
		return "an RFC 3339 time"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
}

// BadValue is the error a json.Unmarshaler returns for a value it refuses:
// a *json.UnmarshalTypeError for Go type t, to which encoding/json adds the
// field's path, so DecodeError names the field and not the value.
func BadValue(t reflect.Type) error {
	return &json.UnmarshalTypeError{Value: "value", Type: t}
}

// Time is a time.Time read from an RFC 3339 JSON string whose decoding
// error names the field, not the value (see DecodeError).
type Time struct{ time.Time }

// UnmarshalJSON reads null (the zero time) or an RFC 3339 string.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if err := t.Time.UnmarshalJSON(b); err != nil {
		return BadValue(reflect.TypeFor[Time]())
	}
	return nil
}
