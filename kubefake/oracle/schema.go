package main

import (
	"sigs.k8s.io/structured-merge-diff/schema"
	"sigs.k8s.io/structured-merge-diff/typed"
)

// parseableType converts an OpenAPI v3 structural schema (a CRD version's, or the subset
// of a built-in kind's that a scenario needs) into a structured-merge-diff type the way
// kube-apiserver does (x-kubernetes-list-type / list-map-keys / map-type,
// preserve-unknown-fields, int-or-string, embedded resources, ObjectMeta at the root).
// A nil schema is a kind without one (deduced: maps granular, lists atomic).
func parseableType(s map[string]interface{}) typed.ParseableType {
	if s == nil {
		return typed.DeducedParseableType
	}
	root := objectAtom(s, true)
	sch := &schema.Schema{Types: []schema.TypeDef{
		{Name: "root", Atom: root},
		{Name: "__untyped_atomic_", Atom: schema.Atom{
			Scalar: ptrScalar(schema.Scalar("untyped")),
			List:   &schema.List{ElementType: schema.TypeRef{NamedType: ptrString("__untyped_atomic_")}, ElementRelationship: schema.Atomic},
			Map:    &schema.Map{ElementType: schema.TypeRef{NamedType: ptrString("__untyped_atomic_")}, ElementRelationship: schema.Atomic},
		}},
		{Name: "__untyped_deduced_", Atom: schema.Atom{
			Scalar: ptrScalar(schema.Scalar("untyped")),
			List:   &schema.List{ElementType: schema.TypeRef{NamedType: ptrString("__untyped_atomic_")}, ElementRelationship: schema.Atomic},
			Map:    &schema.Map{ElementType: schema.TypeRef{NamedType: ptrString("__untyped_deduced_")}, ElementRelationship: schema.Separable},
		}},
	}}
	return typed.ParseableType{TypeRef: schema.TypeRef{NamedType: ptrString("root")}, Schema: sch}
}

func ptrString(s string) *string                    { return &s }
func ptrScalar(s schema.Scalar) *schema.Scalar      { return &s }
func deduced() schema.TypeRef                       { return schema.TypeRef{NamedType: ptrString("__untyped_deduced_")} }
func inline(a schema.Atom) schema.TypeRef           { return schema.TypeRef{Inlined: a} }
func str(s map[string]interface{}, k string) string { v, _ := s[k].(string); return v }
func flag(s map[string]interface{}, k string) bool  { v, _ := s[k].(bool); return v }

func scalar(name string) schema.TypeRef {
	return inline(schema.Atom{Scalar: ptrScalar(schema.Scalar(name))})
}

// metadataType is ObjectMeta's structure: labels and annotations granular maps,
// finalizers a set, ownerReferences keyed by uid.
func metadataType() schema.TypeRef {
	f := func(name string, t schema.TypeRef) schema.StructField { return schema.StructField{Name: name, Type: t} }
	strMap := inline(schema.Atom{Map: &schema.Map{ElementType: scalar("string")}})
	owner := inline(schema.Atom{Map: &schema.Map{Fields: []schema.StructField{
		f("apiVersion", scalar("string")), f("kind", scalar("string")), f("name", scalar("string")),
		f("uid", scalar("string")), f("controller", scalar("boolean")), f("blockOwnerDeletion", scalar("boolean")),
	}, ElementRelationship: schema.Atomic}})
	return inline(schema.Atom{Map: &schema.Map{Fields: []schema.StructField{
		f("name", scalar("string")), f("generateName", scalar("string")), f("namespace", scalar("string")),
		f("selfLink", scalar("string")), f("uid", scalar("string")), f("resourceVersion", scalar("string")),
		f("generation", scalar("numeric")), f("creationTimestamp", scalar("untyped")),
		f("deletionTimestamp", scalar("untyped")), f("deletionGracePeriodSeconds", scalar("numeric")),
		f("labels", strMap), f("annotations", strMap),
		f("ownerReferences", inline(schema.Atom{List: &schema.List{ElementType: owner, ElementRelationship: schema.Associative, Keys: []string{"uid"}}})),
		f("finalizers", inline(schema.Atom{List: &schema.List{ElementType: scalar("string"), ElementRelationship: schema.Associative}})),
		f("managedFields", inline(schema.Atom{List: &schema.List{ElementType: deduced(), ElementRelationship: schema.Atomic}})),
	}}})
}

func convert(s map[string]interface{}) schema.TypeRef {
	if s == nil {
		return deduced()
	}
	if flag(s, "x-kubernetes-int-or-string") {
		return scalar("untyped")
	}
	switch str(s, "type") {
	case "object":
		return inline(objectAtom(s, flag(s, "x-kubernetes-embedded-resource")))
	case "array":
		items, _ := s["items"].(map[string]interface{})
		l := &schema.List{ElementType: convert(items), ElementRelationship: schema.Atomic}
		switch str(s, "x-kubernetes-list-type") {
		case "map":
			l.ElementRelationship = schema.Associative
			for _, k := range asList(s["x-kubernetes-list-map-keys"]) {
				if ks, ok := k.(string); ok {
					l.Keys = append(l.Keys, ks)
				}
			}
		case "set":
			l.ElementRelationship = schema.Associative
		}
		return inline(schema.Atom{List: l})
	case "string":
		return scalar("string")
	case "integer", "number":
		return scalar("numeric")
	case "boolean":
		return scalar("boolean")
	}
	if flag(s, "x-kubernetes-preserve-unknown-fields") {
		return deduced()
	}
	return deduced()
}

func objectAtom(s map[string]interface{}, withMeta bool) schema.Atom {
	m := &schema.Map{}
	props, _ := s["properties"].(map[string]interface{})
	if withMeta {
		m.Fields = append(m.Fields,
			schema.StructField{Name: "apiVersion", Type: scalar("string")},
			schema.StructField{Name: "kind", Type: scalar("string")},
			schema.StructField{Name: "metadata", Type: metadataType()})
	}
	for name, sub := range props {
		if withMeta && (name == "apiVersion" || name == "kind" || name == "metadata") {
			continue
		}
		subs, _ := sub.(map[string]interface{})
		m.Fields = append(m.Fields, schema.StructField{Name: name, Type: convert(subs), Default: subs["default"]})
	}
	if ap, ok := s["additionalProperties"].(map[string]interface{}); ok {
		m.ElementType = convert(ap)
	} else if flag(s, "x-kubernetes-preserve-unknown-fields") {
		m.ElementType = deduced()
	}
	if str(s, "x-kubernetes-map-type") == "atomic" {
		m.ElementRelationship = schema.Atomic
	}
	return schema.Atom{Map: m}
}

func asList(v interface{}) []interface{} { l, _ := v.([]interface{}); return l }

// prune drops fields the schema does not declare, as kube-apiserver does when it decodes
// a create or update of a custom resource (apply bodies are not pruned: they fail).
func prune(v interface{}, s map[string]interface{}, root bool) {
	switch t := v.(type) {
	case map[string]interface{}:
		if s == nil || flag(s, "x-kubernetes-int-or-string") {
			return
		}
		props, _ := s["properties"].(map[string]interface{})
		ap, hasAP := s["additionalProperties"].(map[string]interface{})
		keepMeta := root || flag(s, "x-kubernetes-embedded-resource")
		for k, x := range t {
			if keepMeta && (k == "apiVersion" || k == "kind" || k == "metadata") {
				continue
			}
			if sub, ok := props[k].(map[string]interface{}); ok {
				prune(x, sub, false)
			} else if hasAP {
				prune(x, ap, false)
			} else if !flag(s, "x-kubernetes-preserve-unknown-fields") && s["additionalProperties"] != true {
				delete(t, k)
			}
		}
	case []interface{}:
		items, _ := s["items"].(map[string]interface{})
		for _, x := range t {
			prune(x, items, false)
		}
	}
}

// applyDefaults fills in `default`s of absent properties, as a CRD's structural defaulting.
func applyDefaults(v interface{}, s map[string]interface{}, root bool) {
	if s == nil {
		return
	}
	switch t := v.(type) {
	case map[string]interface{}:
		props, _ := s["properties"].(map[string]interface{})
		for k, sub := range props {
			if root && k == "metadata" {
				continue
			}
			subs, _ := sub.(map[string]interface{})
			if _, has := t[k]; !has {
				if d, ok := subs["default"]; ok {
					t[k] = deepCopy(d)
				}
			}
			if x, has := t[k]; has {
				applyDefaults(x, subs, false)
			}
		}
		if ap, ok := s["additionalProperties"].(map[string]interface{}); ok {
			for k, x := range t {
				if _, declared := props[k]; !declared {
					applyDefaults(x, ap, false)
				}
			}
		}
	case []interface{}:
		items, _ := s["items"].(map[string]interface{})
		for _, x := range t {
			applyDefaults(x, items, false)
		}
	}
}

// dropNulls removes null values of fields that are not nullable: the engine leaves a
// list it emptied as null, which kube-apiserver never stores (built-ins decode into Go
// structs, custom resources drop nulls of non-nullable fields).
func dropNulls(v interface{}, s map[string]interface{}) {
	switch t := v.(type) {
	case map[string]interface{}:
		props, _ := s["properties"].(map[string]interface{})
		ap, _ := s["additionalProperties"].(map[string]interface{})
		for k, x := range t {
			sub, _ := props[k].(map[string]interface{})
			if sub == nil {
				sub = ap
			}
			if x == nil {
				if sub == nil || !flag(sub, "nullable") {
					delete(t, k)
				}
				continue
			}
			dropNulls(x, sub)
		}
	case []interface{}:
		items, _ := s["items"].(map[string]interface{})
		for _, x := range t {
			dropNulls(x, items)
		}
	}
}
