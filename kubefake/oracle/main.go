// Command oracle runs server-side-apply scenarios through sigs.k8s.io/structured-merge-diff,
// the engine kube-apiserver uses for apply and managedFields, and prints what a real
// API server would answer. kubefake's differential test (kubefake/tests/differential.rs)
// feeds it the same scenario corpus as kubefake and compares the answers.
//
// Input (stdin): {"scenarios": [{"name", "schema" (OpenAPI v3 structural schema of the whole
// object, null for a schemaless kind such as ConfigMap), "steps": [{"op": "apply"|"update"|
// "create"|"delete", "manager", "force", "object"}]}]}.
// Output (stdout): [{"name", "steps": [{"status", "message", "conflicts", "object",
// "managedFields"}]}].
//
// Built offline in GOPATH mode from Debian's golang-k8s-sigs-structured-merge-diff-dev
// (GO111MODULE=off GOPATH=/usr/share/gocode go build). The layers kube-apiserver adds
// around the engine are reproduced here: stripping metadata fields from ownership
// (StripMeta), sorting managedFields, pruning undeclared fields on non-apply writes,
// CRD defaulting after the write, and the conflict message format.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"sigs.k8s.io/structured-merge-diff/fieldpath"
	"sigs.k8s.io/structured-merge-diff/merge"
	"sigs.k8s.io/structured-merge-diff/typed"
)

type step struct {
	Op          string                 `json:"op"`
	Manager     string                 `json:"manager"`
	Force       bool                   `json:"force"`
	Subresource string                 `json:"subresource"`
	Object      map[string]interface{} `json:"object"`
}

type scenario struct {
	Name string `json:"name"`
	// StatusSubresource: writes to the main resource leave status alone (kube-apiserver's
	// strategies reset it and the field manager drops it from ownership).
	StatusSubresource bool                   `json:"statusSubresource"`
	Schema            map[string]interface{} `json:"schema"`
	Steps             []step                 `json:"steps"`
}

type managedEntry struct {
	Manager     string          `json:"manager"`
	Operation   string          `json:"operation"`
	Subresource string          `json:"subresource,omitempty"`
	FieldsV1    json.RawMessage `json:"fieldsV1"`
}

type conflict struct {
	Manager   string `json:"manager"`
	Operation string `json:"operation"`
	Path      string `json:"path"`
}

type stepResult struct {
	Status        int                    `json:"status"`
	Message       string                 `json:"message,omitempty"`
	Conflicts     []conflict             `json:"conflicts,omitempty"`
	Object        map[string]interface{} `json:"object"`
	ManagedFields []managedEntry         `json:"managedFields"`
}

type scenarioResult struct {
	Name  string       `json:"name"`
	Steps []stepResult `json:"steps"`
}

// managerID is the key of one managedFields entry, like kube-apiserver's
// BuildManagerIdentifier (apiVersion left out: every scenario uses one version).
type managerID struct {
	Manager     string `json:"manager"`
	Operation   string `json:"operation"`
	Subresource string `json:"subresource,omitempty"`
}

func (m managerID) key() string {
	b, _ := json.Marshal(m)
	return string(b)
}

func parseManager(key string) managerID {
	var m managerID
	_ = json.Unmarshal([]byte(key), &m)
	return m
}

type identity struct{}

func (identity) Convert(o *typed.TypedValue, _ fieldpath.APIVersion) (*typed.TypedValue, error) {
	return o, nil
}
func (identity) IsMissingVersionError(error) bool { return false }

// stripped are the paths kube-apiserver never records in managedFields (StripMeta).
var stripped = fieldpath.NewSet(
	fieldpath.MakePathOrDie("apiVersion"),
	fieldpath.MakePathOrDie("kind"),
	fieldpath.MakePathOrDie("metadata"),
	fieldpath.MakePathOrDie("metadata", "name"),
	fieldpath.MakePathOrDie("metadata", "namespace"),
	fieldpath.MakePathOrDie("metadata", "creationTimestamp"),
	fieldpath.MakePathOrDie("metadata", "selfLink"),
	fieldpath.MakePathOrDie("metadata", "uid"),
	fieldpath.MakePathOrDie("metadata", "clusterName"),
	fieldpath.MakePathOrDie("metadata", "generation"),
	fieldpath.MakePathOrDie("metadata", "managedFields"),
	fieldpath.MakePathOrDie("metadata", "resourceVersion"),
)

type world struct {
	pt       typed.ParseableType
	schema   map[string]interface{}
	live     *typed.TypedValue
	managers fieldpath.ManagedFields
	updater  merge.Updater
	status   bool
}

func main() {
	var in struct {
		Scenarios []scenario `json:"scenarios"`
	}
	dec := json.NewDecoder(os.Stdin)
	if err := dec.Decode(&in); err != nil {
		fmt.Fprintf(os.Stderr, "oracle: cannot read scenarios: %v\n", err)
		os.Exit(2)
	}
	out := make([]scenarioResult, 0, len(in.Scenarios))
	for _, sc := range in.Scenarios {
		out = append(out, run(sc))
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "oracle: cannot write results: %v\n", err)
		os.Exit(2)
	}
}

func run(sc scenario) scenarioResult {
	w := &world{
		pt:       parseableType(sc.Schema),
		schema:   sc.Schema,
		managers: fieldpath.ManagedFields{},
		updater:  merge.Updater{Converter: identity{}},
		status:   sc.StatusSubresource,
	}
	res := scenarioResult{Name: sc.Name}
	for _, st := range sc.Steps {
		r := w.step(st)
		if w.live != nil {
			obj, _ := w.live.AsValue().Unstructured().(map[string]interface{})
			r.Object = obj
		}
		r.ManagedFields = w.encodeManagers()
		res.Steps = append(res.Steps, r)
	}
	return res
}

func (w *world) step(st step) stepResult {
	switch st.Op {
	case "apply":
		return w.apply(st)
	case "update", "create":
		return w.update(st)
	case "delete":
		if w.live == nil {
			return stepResult{Status: 404, Message: "not found"}
		}
		w.live = nil
		w.managers = fieldpath.ManagedFields{}
		return stepResult{Status: 200}
	}
	return stepResult{Status: 400, Message: "unknown op " + st.Op}
}

func (w *world) apply(st step) stepResult {
	if md, ok := st.Object["metadata"].(map[string]interface{}); ok {
		if _, has := md["managedFields"]; has {
			return stepResult{Status: 400, Message: "metadata.managedFields must be nil"}
		}
	}
	body := st.Object
	if w.status && st.Subresource == "" {
		body = deepCopy(body).(map[string]interface{})
		delete(body, "status")
	}
	config, err := w.pt.FromUnstructured(body)
	if err != nil {
		return stepResult{Status: 500, Message: fmt.Sprintf("failed to create typed patch object: %v", err)}
	}
	created := w.live == nil
	live := w.live
	if live == nil {
		live, err = w.pt.FromUnstructured(map[string]interface{}{})
		if err != nil {
			return stepResult{Status: 500, Message: err.Error()}
		}
	}
	id := managerID{Manager: st.Manager, Operation: "Apply", Subresource: st.Subresource}.key()
	obj, mgrs, err := w.updater.Apply(live, config, apiVersion(st.Object), w.managers, id, st.Force)
	if err != nil {
		if cs, ok := err.(merge.Conflicts); ok {
			return conflictResult(cs, w.managers)
		}
		return stepResult{Status: 500, Message: err.Error()}
	}
	if obj == nil { // no change
		obj = live
	}
	return w.commit(obj, mgrs, created)
}

func (w *world) update(st step) stepResult {
	if st.Op == "create" && w.live != nil {
		return stepResult{Status: 409, Message: "already exists"}
	}
	if st.Op == "update" && w.live == nil {
		return stepResult{Status: 404, Message: "not found"}
	}
	objIn := deepCopy(st.Object).(map[string]interface{})
	if md, ok := objIn["metadata"].(map[string]interface{}); ok {
		delete(md, "managedFields")
	}
	if w.schema != nil {
		prune(objIn, w.schema, true)
	}
	if w.status && st.Subresource == "" {
		delete(objIn, "status")
		if w.live != nil {
			if old, ok := w.live.AsValue().Unstructured().(map[string]interface{}); ok && old["status"] != nil {
				objIn["status"] = deepCopy(old["status"])
			}
		}
	}
	newObj, err := w.pt.FromUnstructured(objIn)
	if err != nil {
		return stepResult{Status: 422, Message: err.Error()}
	}
	created := w.live == nil
	live := w.live
	if live == nil {
		live, _ = w.pt.FromUnstructured(map[string]interface{}{})
	}
	id := managerID{Manager: st.Manager, Operation: "Update", Subresource: st.Subresource}.key()
	obj, mgrs, err := w.updater.Update(live, newObj, apiVersion(st.Object), w.managers, id)
	if err != nil {
		return stepResult{Status: 500, Message: err.Error()}
	}
	return w.commit(obj, mgrs, created)
}

// commit defaults the object like a CRD's structural defaulting, strips metadata from
// ownership and drops managers left with nothing.
func (w *world) commit(obj *typed.TypedValue, mgrs fieldpath.ManagedFields, created bool) stepResult {
	u := deepCopy(obj.AsValue().Unstructured())
	if w.schema != nil {
		dropNulls(u, w.schema)
		applyDefaults(u, w.schema, true)
	}
	defaulted, err := w.pt.FromUnstructured(u)
	if err != nil {
		return stepResult{Status: 500, Message: err.Error()}
	}
	for k, vs := range mgrs {
		set := vs.Set().Difference(stripped)
		if set.Empty() {
			delete(mgrs, k)
			continue
		}
		mgrs[k] = fieldpath.NewVersionedSet(set, vs.APIVersion(), vs.Applied())
	}
	w.live = defaulted
	w.managers = mgrs
	if created {
		return stepResult{Status: 201}
	}
	return stepResult{Status: 200}
}

func apiVersion(obj map[string]interface{}) fieldpath.APIVersion {
	v, _ := obj["apiVersion"].(string)
	return fieldpath.APIVersion(v)
}

func conflictResult(cs merge.Conflicts, managers fieldpath.ManagedFields) stepResult {
	var out []conflict
	var lines []string
	for _, c := range cs {
		m := parseManager(c.Manager)
		out = append(out, conflict{Manager: m.Manager, Operation: m.Operation, Path: c.Path.String()})
		version := fieldpath.APIVersion("")
		if vs, ok := managers[c.Manager]; ok {
			version = vs.APIVersion()
		}
		lines = append(lines, fmt.Sprintf("%s: %s", conflictWith(m, version), c.Path.String()))
	}
	msg := ""
	if len(lines) == 1 {
		msg = "Apply failed with 1 conflict: " + lines[0]
	} else {
		msg = fmt.Sprintf("Apply failed with %d conflicts:\n- %s", len(lines), strings.Join(lines, "\n- "))
	}
	return stepResult{Status: 409, Message: msg, Conflicts: out}
}

// conflictWith is kube-apiserver's wording for the other manager of a conflict.
func conflictWith(m managerID, version fieldpath.APIVersion) string {
	if m.Operation == "Update" {
		if m.Subresource != "" {
			return fmt.Sprintf("conflict with %q with subresource %q using %s", m.Manager, m.Subresource, version)
		}
		return fmt.Sprintf("conflict with %q using %s", m.Manager, version)
	}
	if m.Subresource != "" {
		return fmt.Sprintf("conflict with %q with subresource %q", m.Manager, m.Subresource)
	}
	return fmt.Sprintf("conflict with %q", m.Manager)
}

func (w *world) encodeManagers() []managedEntry {
	out := []managedEntry{}
	for k, vs := range w.managers {
		m := parseManager(k)
		b, err := vs.Set().ToJSON()
		if err != nil {
			b = []byte(`"` + err.Error() + `"`)
		}
		out = append(out, managedEntry{Manager: m.Manager, Operation: m.Operation, Subresource: m.Subresource, FieldsV1: b})
	}
	// kube-apiserver's sortEncodedManagedFields: operation, time (one second here), manager.
	sort.Slice(out, func(i, j int) bool {
		p, q := out[i], out[j]
		if p.Operation != q.Operation {
			return p.Operation < q.Operation
		}
		if p.Manager != q.Manager {
			return p.Manager < q.Manager
		}
		return p.Subresource < q.Subresource
	})
	return out
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []interface{}:
		l := make([]interface{}, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}
