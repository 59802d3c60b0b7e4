// Package check decodes Kubernetes manifests strictly into the API's Go
// types, so that a misspelt or unknown field, or a value of the wrong type,
// fails before a cluster sees it. Its tests check sigguard's manifests and
// the objects its Helm chart renders.
package check

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// scheme knows the API groups sigguard's objects belong to; a kind of any
// other group is refused rather than decoded into nothing.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// Object is one decoded document and where it came from.
type Object struct {
	Source string // file, or file#N for the Nth document of a stream
	GVK    schema.GroupVersionKind
	Obj    runtime.Object
}

var separator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// DecodeStream decodes every document of a YAML stream ("---" between
// documents); documents holding only comments are skipped.
func DecodeStream(source string, data []byte) ([]Object, error) {
	var out []Object
	for i, doc := range separator.Split(string(data), -1) {
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%s#%d: %w", source, i, err)
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		obj, err := Decode([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%s#%d: %w", source, i, err)
		}
		out = append(out, Object{Source: fmt.Sprintf("%s#%d", source, i), GVK: obj.GetObjectKind().GroupVersionKind(), Obj: obj})
	}
	return out, nil
}

// Decode reads one document into the Go type its apiVersion and kind name.
// Unknown fields, duplicate keys and values of the wrong type are errors.
func Decode(doc []byte) (runtime.Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, fmt.Errorf("no apiVersion or kind (apiVersion %q, kind %q)", tm.APIVersion, tm.Kind)
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	obj, err := scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("apiVersion %s kind %s: no Go type for it (%w)", tm.APIVersion, tm.Kind, err)
	}
	// The API server's own decoding: field names match case-sensitively
	// (encoding/json would take hostPid for hostPID), and unknown or
	// duplicate fields are errors rather than dropped.
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	strict, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	if len(strict) != 0 {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, errors.Join(strict...))
	}
	if got := obj.GetObjectKind().GroupVersionKind(); got != gvk {
		return nil, fmt.Errorf("decoded %v into a %T that says %v", gvk, obj, got)
	}
	return obj, nil
}
