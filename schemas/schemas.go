// Package schemas holds the JSON Schemas (draft 2020-12) of every event and
// command, embedded in the binary, and validates documents against them.
// The schemas are the published contract; package events has the Go types,
// and TestGoTypesMatchSchemas keeps the two in step.
package schemas

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// BaseURL is the $id prefix of every schema.
const BaseURL = "https://switchboard-voip.github.io/schemas/v1/"

//go:embed events/*.json commands/*.json
var files embed.FS

// FS exposes the schema files (events/<type>.json, commands/<verb>.json,
// commands/<verb>.reply.json).
func FS() fs.FS { return files }

var (
	// ErrNoSchema is returned for an event type or verb without a schema.
	ErrNoSchema = errors.New("schemas: no schema")
	// ErrInvalid wraps every validation failure.
	ErrInvalid = errors.New("schemas: document does not match its schema")
)

var (
	once     sync.Once
	compiled map[string]*jsonschema.Schema // by file path
	loadErr  error
)

func load() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	var paths []string
	loadErr = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := files.ReadFile(p)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		paths = append(paths, p)
		return c.AddResource(BaseURL+p, doc)
	})
	if loadErr != nil {
		return
	}
	compiled = map[string]*jsonschema.Schema{}
	for _, p := range paths {
		s, err := c.Compile(BaseURL + p)
		if err != nil {
			loadErr = fmt.Errorf("compile %s: %w", p, err)
			return
		}
		compiled[p] = s
	}
}

func validate(file string, doc []byte) error {
	once.Do(load)
	if loadErr != nil {
		return loadErr
	}
	s := compiled[file]
	if s == nil {
		return fmt.Errorf("%w: %s", ErrNoSchema, file)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("%w: not JSON: %v", ErrInvalid, err)
	}
	if err := s.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("%w: %s", ErrInvalid, oneLine(ve))
		}
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// oneLine flattens a validation error into a sentence an API user can act on.
func oneLine(ve *jsonschema.ValidationError) string {
	var leaves []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			leaves = append(leaves, fmt.Sprintf("at %s: %s", loc, e.ErrorKind.LocalizedString(printer)))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return strings.Join(leaves, "; ")
}

// ValidateEvent checks a whole event (envelope and data) against the
// schema of its type.
func ValidateEvent(eventType string, doc []byte) error {
	return validate(path.Join("events", eventType+".json"), doc)
}

// ValidateCommand checks a command request body against its verb's schema.
func ValidateCommand(verb string, doc []byte) error {
	return validate(path.Join("commands", verb+".json"), doc)
}

// ValidateReply checks a command reply against the verb's reply schema, or
// the generic reply schema when the verb has none of its own.
func ValidateReply(verb string, doc []byte) error {
	f := path.Join("commands", verb+".reply.json")
	if _, err := fs.Stat(files, f); err != nil {
		f = "commands/reply.json"
	}
	return validate(f, doc)
}

// Has reports whether a schema file exists, e.g. Has("commands/locate.json").
func Has(file string) bool {
	_, err := fs.Stat(files, file)
	return err == nil
}
