package main

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/propensity-dev/propensity/data/synth"
	"github.com/propensity-dev/propensity/features"
	"github.com/propensity-dev/propensity/internal/buildinfo"
	"github.com/propensity-dev/propensity/models/artifact"
	"github.com/propensity-dev/propensity/models/btyd"
	"github.com/propensity-dev/propensity/models/classifier"
	"github.com/propensity-dev/propensity/models/persona"
	"github.com/propensity-dev/propensity/serving"
	v1 "github.com/propensity-dev/propensity/serving/api/v1"
	"github.com/propensity-dev/propensity/serving/batch"
	"github.com/propensity-dev/propensity/training/evaluate"
	"github.com/propensity-dev/propensity/training/ltv"
	"github.com/propensity-dev/propensity/training/personas"
	"github.com/propensity-dev/propensity/training/tabular"
)

var snakeName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// TestJSONNamesSnakeCase: every JSON object we write — --json outputs, HTTP answers,
// artifact manifests, payloads and the options recorded in them — names its fields in
// snake_case (docs/contract.md, "JSON"), never with Go's field names. It walks the types:
// every exported field reachable from them needs a snake_case json tag (or "-").
func TestJSONNamesSnakeCase(t *testing.T) {
	roots := []any{
		// --json outputs of the commands
		synth.Summary{}, tabular.Summary{}, ltv.Result{}, personas.Summary{}, personas.Catalog{},
		evaluate.Result{}, batch.Summary{}, buildinfo.Info{},
		// HTTP answers
		serving.Response{}, v1.ModelsResponse{}, v1.PersonasResponse{},
		// artifacts, their payloads and the options recorded in their manifests
		artifact.Manifest{}, classifier.Payload{}, btyd.LTVModel{}, persona.Model{},
		tabular.Options{}, features.Options{},
	}
	seen := map[reflect.Type]bool{}
	for _, r := range roots {
		checkJSONNames(t, reflect.TypeOf(r), reflect.TypeOf(r).String(), seen)
	}
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	timeType       = reflect.TypeFor[time.Time]()
	marshalerType  = reflect.TypeFor[json.Marshaler]()
)

func checkJSONNames(t *testing.T, typ reflect.Type, path string, seen map[reflect.Type]bool) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || seen[typ] || typ == rawMessageType || typ == timeType ||
		typ.Implements(marshalerType) || reflect.PointerTo(typ).Implements(marshalerType) {
		return
	}
	seen[typ] = true
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && !strings.HasPrefix(tag, "-,") {
			continue
		}
		if f.Anonymous && name == "" {
			checkJSONNames(t, f.Type, path, seen)
			continue
		}
		if !snakeName.MatchString(name) {
			t.Errorf("%s.%s (%s): JSON name %q, want a snake_case json tag", path, f.Name, typ, name)
		}
		checkJSONNames(t, f.Type, path+"."+f.Name, seen)
	}
}
