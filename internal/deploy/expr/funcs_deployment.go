package expr

import (
	"errors"
	"fmt"
	"strings"
)

// Deployment-value and scope functions: everything here is answered by the
// Host, except inside a user-defined function where parameters() reads the
// function's own parameters and variables()/reference()/list*() are not
// allowed (ARM: "The function can't access variables ... can't use the
// reference function or any of the list functions").

func init() {
	fn("deployment", "parameters", 1, 1, fnParameters)
	fn("deployment", "variables", 1, 1, fnVariables)
	fn("deployment", "deployment", 0, 0, hostObject("deployment", Host.Deployment))
	fn("deployment", "deployer", 0, 0, hostObject("deployer", Host.Deployer))
	fn("deployment", "environment", 0, 0, hostObject("environment", Host.Environment))
	fn("scope", "resourceGroup", 0, 0, hostObject("resourceGroup", Host.ResourceGroup))
	fn("scope", "subscription", 0, 0, hostObject("subscription", Host.Subscription))
	fn("scope", "tenant", 0, 0, hostObject("tenant", Host.Tenant))
	fn("scope", "managementGroup", 0, 0, hostObject("managementGroup", Host.ManagementGroup))
	fn("numeric", "copyIndex", 0, 2, fnCopyIndex)
	ref := fn("resource", "reference", 1, 3, fnReference)
	ref.Runtime = true
	refs := fn("resource", "references", 1, 2, fnReferences)
	refs.Runtime = true
	fn("resource", "providers", 1, 2, fnProviders)
	fn("resource", "pickZones", 3, 5, fnPickZones)
}

// hostErr words a Host error as ARM does for a failing function. A Host
// that wants its message used verbatim (reference() of a missing resource
// answers with ARM's ResourceNotFound text, say) returns an *Error; expr
// then only fills in the expression and position.
func hostErr(name string, err error) error {
	var verbatim *Error
	if errors.As(err, &verbatim) {
		return &evalError{msg: verbatim.Message, err: err}
	}
	return &evalError{msg: fmt.Sprintf("Unable to evaluate template language function '%s': %s", name, err.Error()), err: err}
}

func hostObject(name string, get func(Host) (any, error)) func(*evaluator, string, []any) (any, error) {
	return func(ev *evaluator, _ string, _ []any) (any, error) {
		v, err := get(ev.host)
		if err != nil {
			return nil, hostErr(name, err)
		}
		return v, nil
	}
}

func fnParameters(ev *evaluator, name string, args []any) (any, error) {
	pname, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	if ev.udf != nil {
		if v, ok := ev.udf.params.Get(pname); ok {
			return v, nil
		}
		return nil, errorf("The template function parameter '%s' is not found in user-defined function '%s.%s'. A user-defined function can only use its own parameters.", pname, ev.udf.fn.Namespace, ev.udf.fn.Name)
	}
	v, err := ev.host.Parameter(pname)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, &evalError{msg: fmt.Sprintf("The template parameter '%s' is not found. Please see https://aka.ms/arm-syntax-parameters for usage details.", pname), err: err}
		}
		return nil, hostErr(name, err)
	}
	return v, nil
}

func fnVariables(ev *evaluator, name string, args []any) (any, error) {
	vname, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	if ev.udf != nil {
		return nil, errorf("The template function 'variables' is not valid in user-defined function '%s.%s': a user-defined function can't access variables.", ev.udf.fn.Namespace, ev.udf.fn.Name)
	}
	v, err := ev.host.Variable(vname)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, &evalError{msg: fmt.Sprintf("The template variable '%s' is not found. Please see https://aka.ms/arm-syntax-variables for usage details.", vname), err: err}
		}
		return nil, hostErr(name, err)
	}
	return v, nil
}

// fnCopyIndex is copyIndex([loopName], [offset]).
func fnCopyIndex(ev *evaluator, name string, args []any) (any, error) {
	var loop string
	var offset int64
	switch len(args) {
	case 1:
		switch t := args[0].(type) {
		case string:
			loop = t
		case int64:
			offset = t
		default:
			return nil, errorf("The template language function 'copyIndex' expects its parameter to be a loop name or an integer offset. The provided value is of type '%s'.", TypeName(args[0]))
		}
	case 2:
		var err error
		if loop, err = argString(name, 0, args[0]); err != nil {
			return nil, err
		}
		if offset, err = argInt(name, 1, args[1]); err != nil {
			return nil, err
		}
	}
	i, err := ev.host.CopyIndex(loop)
	if err != nil {
		return nil, &evalError{msg: err.Error(), err: err}
	}
	return i + offset, nil
}

func (ev *evaluator) notInUDF(name string) error {
	if ev.udf != nil {
		return errorf("The template function '%s' is not valid in user-defined function '%s.%s': a user-defined function can't use the reference or list functions.", name, ev.udf.fn.Namespace, ev.udf.fn.Name)
	}
	return nil
}

// fnReference is reference(resourceNameOrIdentifier, [apiVersion], ['Full']).
func fnReference(ev *evaluator, name string, args []any) (any, error) {
	if err := ev.notInUDF("reference"); err != nil {
		return nil, err
	}
	target, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	var apiVersion string
	if len(args) > 1 {
		if apiVersion, err = argString(name, 1, args[1]); err != nil {
			return nil, err
		}
	}
	full := false
	if len(args) > 2 {
		s, err := argString(name, 2, args[2])
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(s, "Full") {
			return nil, fnError(name, "the third parameter must be 'Full' when given; the provided value is '%s'.", s)
		}
		full = true
	}
	v, err := ev.host.Reference(target, apiVersion, full)
	if err != nil {
		return nil, hostErr(name, err)
	}
	return v, nil
}

// fnReferences is references(symbolicName, ['Full']).
func fnReferences(ev *evaluator, name string, args []any) (any, error) {
	if err := ev.notInUDF("references"); err != nil {
		return nil, err
	}
	coll, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	full := false
	if len(args) > 1 {
		s, err := argString(name, 1, args[1])
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(s, "Full") {
			return nil, fnError(name, "the second parameter must be 'Full' when given; the provided value is '%s'.", s)
		}
		full = true
	}
	v, err := ev.host.References(coll, full)
	if err != nil {
		return nil, hostErr(name, err)
	}
	return v, nil
}

// listFunction is list{Value}(resourceNameOrIdentifier, apiVersion, [functionValues]).
func listFunction(ev *evaluator, name string, args []any) (any, error) {
	if err := ev.notInUDF(name); err != nil {
		return nil, err
	}
	id, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	apiVersion, err := argString(name, 1, args[1])
	if err != nil {
		return nil, err
	}
	var body any
	if len(args) > 2 {
		body = args[2]
	}
	v, err := ev.host.List(name, id, apiVersion, body)
	if err != nil {
		return nil, hostErr(name, err)
	}
	return v, nil
}

func fnProviders(ev *evaluator, name string, args []any) (any, error) {
	ns, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	var typ string
	if len(args) > 1 {
		if typ, err = argString(name, 1, args[1]); err != nil {
			return nil, err
		}
	}
	v, err := ev.host.Providers(ns, typ)
	if err != nil {
		return nil, hostErr(name, err)
	}
	return v, nil
}

// fnPickZones is pickZones(providerNamespace, resourceType, location,
// [numberOfZones], [offset]); numberOfZones defaults to 1, offset to 0.
func fnPickZones(ev *evaluator, name string, args []any) (any, error) {
	var strs [3]string
	for i := 0; i < 3; i++ {
		s, err := argString(name, i, args[i])
		if err != nil {
			return nil, err
		}
		strs[i] = s
	}
	count, offset := int64(1), int64(0)
	var err error
	if len(args) > 3 {
		if count, err = argInt(name, 3, args[3]); err != nil {
			return nil, err
		}
	}
	if len(args) > 4 {
		if offset, err = argInt(name, 4, args[4]); err != nil {
			return nil, err
		}
	}
	v, err := ev.host.PickZones(strs[0], strs[1], strs[2], count, offset)
	if err != nil {
		return nil, hostErr(name, err)
	}
	return v, nil
}
