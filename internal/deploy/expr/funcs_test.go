package expr

import (
	"testing"
)

// The cases below are the documented examples of the Azure docs pages
// "String functions for ARM templates", "Array functions", "Object
// functions", "Comparison functions", "Logical functions", "Numeric
// functions", "Date functions", "Lambda functions" and "CIDR functions"
// (learn.microsoft.com/azure/azure-resource-manager/templates/template-functions-*),
// with their documented outputs, plus edge cases named for what they prove.

func TestStringFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"base64", "[base64('one, two, three')]", `"b25lLCB0d28sIHRocmVl"`},
		{"base64ToString", "[base64ToString('b25lLCB0d28sIHRocmVl')]", `"one, two, three"`},
		{"base64ToJson", "[base64ToJson(base64('{\"one\": \"a\", \"two\": \"b\"}'))]", `{"one":"a","two":"b"}`},
		{"concat strings", "[concat('prefix', '-', 'suffix')]", `"prefix-suffix"`},
		{"concat with integer", "[concat('vm', copyIndex())]", `"vm2"`},
		{"contains string", "[contains('OneTwoThree', 'e')]", `true`},
		{"contains string is case-sensitive", "[contains('OneTwoThree', 'one')]", `false`},
		{"dataUri", "[dataUri('Hello')]", `"data:text/plain;charset=utf8;base64,SGVsbG8="`},
		{"dataUriToString", "[dataUriToString('data:;base64,SGVsbG8sIFdvcmxkIQ==')]", `"Hello, World!"`},
		{"empty string", "[empty('')]", `true`},
		{"endsWith", "[endsWith('abcdef', 'ef')]", `true`},
		{"endsWith is case-insensitive", "[endsWith('abcdef', 'F')]", `true`},
		{"endsWith false", "[endsWith('abcdef', 'e')]", `false`},
		{"startsWith", "[startsWith('abcdef', 'ab')]", `true`},
		{"startsWith is case-insensitive", "[startsWith('abcdef', 'A')]", `true`},
		{"startsWith false", "[startsWith('abcdef', 'e')]", `false`},
		{"first of string", "[first('One Two Three')]", `"O"`},
		{"last of string", "[last('One Two Three')]", `"e"`},
		{"format", "[format('{0}, {1}. Formatted number: {2:N0}', 'Hello', 'User', 8175133)]", `"Hello, User. Formatted number: 8,175,133"`},
		{"format D3", "[format('vm{0:D3}', 7)]", `"vm007"`},
		{"format custom zeros", "[format('{0:000}', 42)]", `"042"`},
		{"format escaped braces", "[format('{{{0}}}', 'x')]", `"{x}"`},
		{"format boolean", "[format('{0}', true())]", `"True"`},
		{"format alignment", "[format('[{0,5}|{1,-3}]', 'ab', 'c')]", `"[   ab|c  ]"`},
		{"format hex", "[format('{0:X4}', 255)]", `"00FF"`},
		{"format fixed", "[format('{0:F1}', 3)]", `"3.0"`},
		{"format grouped", "[format('{0:#,0}', 1234567)]", `"1,234,567"`},
		{"format percent", "[format('{0:P0}', 1)]", `"100 %"`},
		{"format null", "[format('a{0}b', null())]", `"ab"`},
		{"guid", "[guid('abc')]", `"a9b46cc2-65a6-5559-9f14-7091827ab32f"`},
		{"indexOf", "[indexOf('test', 't')]", `0`},
		{"lastIndexOf", "[lastIndexOf('test', 't')]", `3`},
		{"indexOf is case-insensitive", "[indexOf('abcdef', 'CD')]", `2`},
		{"lastIndexOf is case-insensitive", "[lastIndexOf('abcdef', 'AB')]", `0`},
		{"indexOf not found", "[indexOf('abcdef', 'z')]", `-1`},
		{"join", "[join(createArray('one', 'two', 'three'), ',')]", `"one,two,three"`},
		{"join semicolon", "[join(createArray('one', 'two', 'three'), ';')]", `"one;two;three"`},
		{"json object", "[json('{\"a\": \"b\"}').a]", `"b"`},
		{"json single quotes", "[json('{''a'': ''b''}')]", `{"a":"b"}`},
		{"json null", "[json('null')]", `null`},
		{"json array", "[json('[1, 2.5, true]')]", `[1,2.5,true]`},
		{"json from format", "[json(format('{{\"a\": \"{0}\"}}', 'b'))]", `{"a":"b"}`},
		{"length string", "[length('One Two Three')]", `13`},
		{"length counts UTF-16 units", "[length('😀a')]", `3`},
		{"newGuid", "[newGuid()]", `"6a9c5f2e-0000-4000-8000-000000000000"`},
		{"padLeft", "[padLeft('123', 10, '0')]", `"0000000123"`},
		{"padLeft integer", "[padLeft(7, 3, '0')]", `"007"`},
		{"padLeft shorter total", "[padLeft('abc', 2)]", `"abc"`},
		{"replace remove", "[replace('123-123-1234', '-', '')]", `"1231231234"`},
		{"replace text", "[replace('123-123-1234', '1234', 'xxxx')]", `"123-123-xxxx"`},
		{"skip string", "[skip('one two three', 4)]", `"two three"`},
		{"skip past the end", "[skip('abc', 10)]", `""`},
		{"split", "[split('one,two,three', ',')]", `["one","two","three"]`},
		{"split on several delimiters", "[split('one;two,three', createArray(',', ';'))]", `["one","two","three"]`},
		{"string object", "[string(json('{\"valueA\": 10, \"valueB\": \"Example Text\"}'))]", `"{\"valueA\":10,\"valueB\":\"Example Text\"}"`},
		{"string array", "[string(createArray('a', 'b', 'c'))]", `"[\"a\",\"b\",\"c\"]"`},
		{"string int", "[string(5)]", `"5"`},
		{"string bool", "[string(true())]", `"true"`},
		{"string keeps non-ASCII and HTML", "[string(createArray('<é>'))]", `"[\"<é>\"]"`},
		{"substring", "[substring('one two three', 4, 3)]", `"two"`},
		{"substring to end", "[substring('one two three', 4)]", `"two three"`},
		{"take string", "[take('one two three', 2)]", `"on"`},
		{"toLower", "[toLower('One Two Three')]", `"one two three"`},
		{"toUpper", "[toUpper('One Two Three')]", `"ONE TWO THREE"`},
		{"trim", "[trim('    one two three   ')]", `"one two three"`},
		{"uniqueString", "[uniqueString('test')]", `"rbgf3xv4ufgzg"`},
		{"uniqueString several", "[uniqueString('hello', 'world')]", `"a7wkljktk6wne"`},
		{"uri", "[uri('http://contoso.org/firstpath', 'myscript.sh')]", `"http://contoso.org/myscript.sh"`},
		{"uri nested", "[uri('http://contoso.com/resources/', 'nested/azuredeploy.json')]", `"http://contoso.com/resources/nested/azuredeploy.json"`},
		{"uriComponent", "[uriComponent('http://contoso.com/resources/nested/azuredeploy.json')]", `"http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json"`},
		{"uriComponentToString", "[uriComponentToString('http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json')]", `"http://contoso.com/resources/nested/azuredeploy.json"`},
	})
	runErrCases(t, []errCase{
		{"substring out of range", "[substring('abc', 1, 5)]", "The index and length parameters must refer to a location within the string. The index parameter: '1', the length parameter: '5', the length of the string parameter: '3'.", 1},
		{"substring needs a string", "[substring(1, 0)]", "expects its first parameter to be of type 'String'. The provided value is of type 'Integer'.", 1},
		{"format index out of range", "[format('{1}', 'a')]", "Index (zero based) must be greater than or equal to zero", 1},
		{"format bad braces", "[format('{0', 'a')]", "Input string was not in a correct format.", 1},
		{"json invalid", "[json('{')]", "The template language function 'json' parameter is not valid.", 1},
		{"base64 invalid", "[base64ToString('***')]", "is not a valid Base-64 string", 1},
		{"uniqueString needs strings", "[uniqueString('a', 1)]", "expects its parameters to be of type 'String'", 1},
		{"replace empty", "[replace('abc', '', 'x')]", "can't be empty", 1},
		{"concat mixing arrays and strings", "[concat(createArray(1), 'a')]", "either all arrays or all strings", 1},
		{"padLeft needs one character", "[padLeft('a', 3, 'xy')]", "single character", 1},
	})
}

func TestArrayFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"array int", "[array(1)]", `[1]`},
		{"array string", "[array('efgh')]", `["efgh"]`},
		{"array object", "[array(json('{\"a\": \"b\", \"c\": \"d\"}'))]", `[{"a":"b","c":"d"}]`},
		{"array of array", "[array(createArray(1, 2))]", `[1,2]`},
		{"concat arrays", "[concat(createArray('1-1', '1-2', '1-3'), createArray('2-1', '2-2', '2-3'))]", `["1-1","1-2","1-3","2-1","2-2","2-3"]`},
		{"contains array", "[contains(createArray('one', 'two', 'three'), 'two')]", `true`},
		{"contains array false", "[contains(createArray('one', 'two', 'three'), 'four')]", `false`},
		{"contains array is case-sensitive", "[contains(createArray('one', 'two', 'three'), 'Two')]", `false`},
		{"contains array of ints", "[contains(createArray(1, 2, 3), 3)]", `true`},
		{"createArray", "[createArray(1, 2, 3)]", `[1,2,3]`},
		{"createArray empty", "[createArray()]", `[]`},
		{"empty array", "[empty(createArray())]", `true`},
		{"empty null", "[empty(null())]", `true`},
		{"first array", "[first(createArray('one', 'two', 'three'))]", `"one"`},
		{"first empty array", "[first(createArray())]", `null`},
		{"flatten", "[flatten(createArray(createArray('one', 'two'), createArray('three'), createArray('four', 'five')))]", `["one","two","three","four","five"]`},
		{"indexOf array", "[indexOf(createArray('one', 'two', 'three'), 'two')]", `1`},
		{"indexOf array of ints", "[indexOf(createArray(1, 2, 3), 3)]", `2`},
		{"indexOf array missing", "[indexOf(createArray(1, 2, 3), 4)]", `-1`},
		{"lastIndexOf array", "[lastIndexOf(createArray('a', 'b', 'a'), 'a')]", `2`},
		{"intersection arrays", "[intersection(createArray('one', 'two', 'three'), createArray('one', 'two'))]", `["one","two"]`},
		{"last array", "[last(createArray('one', 'two', 'three'))]", `"three"`},
		{"length array", "[length(createArray('a', 'b', 'c'))]", `3`},
		{"max array", "[max(createArray(0, 3, 2, 5, 4))]", `5`},
		{"max args", "[max(0, 3, 2, 5, 4)]", `5`},
		{"min array", "[min(createArray(0, 3, 2, 5, 4))]", `0`},
		{"min args", "[min(0, 3, 2, 5, 4)]", `0`},
		{"range", "[range(1, 3)]", `[1,2,3]`},
		{"range empty", "[range(5, 0)]", `[]`},
		{"skip array", "[skip(createArray('one', 'two', 'three'), 2)]", `["three"]`},
		{"skip negative", "[skip(createArray(1, 2), -1)]", `[1,2]`},
		{"take array", "[take(createArray('one', 'two', 'three'), 2)]", `["one","two"]`},
		{"union arrays", "[union(createArray('one', 'two', 'three'), createArray('three', 'four'))]", `["one","two","three","four"]`},
		{"union removes duplicates", "[union(createArray(1, 1, 2), createArray(2))]", `[1,2]`},
	})
	runErrCases(t, []errCase{
		{"range too long", "[range(0, 10001)]", "no greater than '10000'", 1},
		{"length of int", "[length(1)]", "expects its parameter to be an array, an object or a string. The provided value is of type 'Integer'.", 1},
		{"max of empty", "[max(createArray())]", "must not be empty", 1},
	})
}

func TestObjectFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"contains object", "[contains(json('{\"one\": \"a\", \"two\": \"b\", \"three\": \"c\"}'), 'two')]", `true`},
		{"contains object key is case-insensitive", "[contains(json('{\"one\": \"a\"}'), 'ONE')]", `true`},
		{"contains object false", "[contains(json('{\"one\": \"a\"}'), 'four')]", `false`},
		{"createObject", "[createObject('intProp', 1, 'stringProp', 'abc', 'boolProp', true(), 'arrayProp', createArray('a', 'b', 'c'), 'objectProp', createObject('key1', 'value1'))]",
			`{"intProp":1,"stringProp":"abc","boolProp":true,"arrayProp":["a","b","c"],"objectProp":{"key1":"value1"}}`},
		{"createObject empty", "[createObject()]", `{}`},
		{"empty object", "[empty(json('{}'))]", `true`},
		{"intersection objects", "[intersection(json('{\"one\": \"a\", \"two\": \"b\", \"three\": \"c\"}'), json('{\"one\": \"a\", \"two\": \"z\", \"three\": \"c\"}'))]", `{"one":"a","three":"c"}`},
		{"items sorts by key", "[items(json('{\"item002\": {\"enabled\": false, \"displayName\": \"Example item 2\", \"number\": 200}, \"item001\": {\"enabled\": true, \"displayName\": \"Example item 1\", \"number\": 300}}'))]",
			`[{"key":"item001","value":{"enabled":true,"displayName":"Example item 1","number":300}},{"key":"item002","value":{"enabled":false,"displayName":"Example item 2","number":200}}]`},
		{"length object", "[length(json('{\"a\": 1, \"b\": 2}'))]", `2`},
		{"null", "[null()]", `null`},
		{"objectKeys", "[objectKeys(json('{\"a\": 1, \"b\": 2}'))]", `["a","b"]`},
		{"shallowMerge", "[shallowMerge(createArray(json('{\"one\": \"a\"}'), json('{\"two\": \"b\"}')))]", `{"one":"a","two":"b"}`},
		{"shallowMerge replaces nested objects", "[shallowMerge(createArray(json('{\"one\": \"a\", \"nested\": {\"a\": 1, \"nested\": {\"c\": 3}}}'), json('{\"two\": \"b\", \"nested\": {\"b\": 2}}')))]",
			`{"one":"a","nested":{"b":2},"two":"b"}`},
		{"tryGet present", "[tryGet(json('{\"a\": 1}'), 'A')]", `1`},
		{"tryGet missing", "[tryGet(json('{\"a\": 1}'), 'b')]", `null`},
		{"tryGet path", "[tryGet(parameters('obj'), 'properties', 'nested', 'b', 1)]", `20`},
		{"tryGet index out of range", "[tryGet(parameters('arr'), 5)]", `null`},
		{"tryGet of null", "[tryGet(parameters('nothing'), 'x')]", `null`},
		{"union objects", "[union(json('{\"one\": \"a\", \"two\": \"b\", \"three\": \"c1\"}'), json('{\"three\": \"c2\", \"four\": \"d\", \"five\": \"e\"}'))]",
			`{"one":"a","two":"b","three":"c2","four":"d","five":"e"}`},
		{"union merges nested objects deeply", "[union(json('{\"property\": {\"one\": \"a\", \"two\": \"b\", \"three\": \"c1\"}, \"nestedArray\": [1, 2]}'), json('{\"property\": {\"three\": \"c2\", \"four\": \"d\", \"five\": \"e\"}, \"nestedArray\": [3, 4]}'))]",
			`{"property":{"one":"a","two":"b","three":"c2","four":"d","five":"e"},"nestedArray":[3,4]}`},
	})
	runErrCases(t, []errCase{
		{"createObject odd arguments", "[createObject('a')]", "even number of parameters", 1},
		{"objectKeys of array", "[objectKeys(createArray())]", "expects its first parameter to be of type 'Object'", 1},
	})
}

func TestComparisonFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"coalesce int", "[coalesce(null(), null(), 1, 2, 3)]", `1`},
		{"coalesce string", "[coalesce(null(), 'a', 'b')]", `"a"`},
		{"coalesce all null", "[coalesce(null(), null())]", `null`},
		{"equals ints", "[equals(1, 1)]", `true`},
		{"equals strings", "[equals('a', 'a')]", `true`},
		{"equals is case-sensitive", "[equals('a', 'A')]", `false`},
		{"equals arrays", "[equals(createArray('a', 'b'), createArray('a', 'b'))]", `true`},
		{"equals objects", "[equals(json('{\"a\": \"b\"}'), json('{\"a\": \"b\"}'))]", `true`},
		{"equals int and double", "[equals(json('1'), json('1.0'))]", `true`},
		{"equals different types", "[equals(1, '1')]", `false`},
		{"greater ints", "[greater(1, 2)]", `false`},
		{"greater strings", "[greater('A', 'a')]", `true`},
		{"greaterOrEquals ints", "[greaterOrEquals(1, 2)]", `false`},
		{"greaterOrEquals strings", "[greaterOrEquals('A', 'a')]", `true`},
		{"less ints", "[less(1, 2)]", `true`},
		{"less strings", "[less('A', 'a')]", `false`},
		{"lessOrEquals ints", "[lessOrEquals(1, 2)]", `true`},
		{"lessOrEquals strings", "[lessOrEquals('A', 'a')]", `false`},
		{"less alphabetical before case", "[less('a', 'B')]", `true`},
	})
	runErrCases(t, []errCase{
		{"greater mixed types", "[greater(1, 'a')]", "expects two parameters of the same type", 1},
	})
}

func TestLogicalAndNumericFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"and", "[and(bool('true'), bool('false'))]", `false`},
		{"and three", "[and(true(), true(), true())]", `true`},
		{"or", "[or(bool('true'), bool('false'))]", `true`},
		{"not", "[not(bool('true'))]", `false`},
		{"bool string", "[bool('true')]", `true`},
		{"bool string any case", "[bool('False')]", `false`},
		{"bool int", "[bool(0)]", `false`},
		{"bool nonzero", "[bool(1)]", `true`},
		{"if", "[if(equals('a', 'a'), 'yes', 'no')]", `"yes"`},
		{"if object", "[if(equals('a', 'b'), 'yes', json('{\"test\": \"value1\"}'))]", `{"test":"value1"}`},
		{"true", "[true()]", `true`},
		{"false", "[false()]", `false`},
		{"add", "[add(5, 3)]", `8`},
		{"sub", "[sub(7, 3)]", `4`},
		{"mul", "[mul(5, 3)]", `15`},
		{"div", "[div(8, 3)]", `2`},
		{"div negative truncates", "[div(-7, 2)]", `-3`},
		{"mod", "[mod(7, 3)]", `1`},
		{"int", "[int('4')]", `4`},
		{"int of int", "[int(4)]", `4`},
		{"float", "[float('3.5')]", `3.5`},
		{"negative literal", "[add(-5, 3)]", `-2`},
		{"large integers", "[mul(4294967296, 4)]", `17179869184`},
	})
	runErrCases(t, []errCase{
		{"div by zero", "[div(1, 0)]", "Attempted to divide by zero.", 1},
		{"add overflow", "[add(9223372036854775807, 1)]", "overflows", 1},
		{"not of string", "[not('true')]", "expects its first parameter to be of type 'Boolean'", 1},
		{"bool invalid", "[bool('yes')]", "is not a valid boolean", 1},
		{"int invalid", "[int('x')]", "is not a valid integer", 1},
	})
}

func TestDateFunctions(t *testing.T) {
	// The clock in testContext is 2019-03-05T17:53:18Z, the time of the
	// docs' utcNow examples.
	runEvalCases(t, []evalCase{
		{"utcNow default", "[utcNow()]", `"20190305T175318Z"`},
		{"utcNow u", "[utcNow('u')]", `"2019-03-05 17:53:18Z"`},
		{"utcNow d", "[utcNow('d')]", `"3/5/2019"`},
		{"utcNow custom", "[utcNow('yyyy-MM-dd')]", `"2019-03-05"`},
		{"utcNow o", "[utcNow('o')]", `"2019-03-05T17:53:18.0000000Z"`},
		{"dateTimeAdd years", "[dateTimeAdd('2020-04-07 14:53:14Z', 'P3Y')]", `"4/7/2023 2:53:14 PM"`},
		{"dateTimeAdd minus days", "[dateTimeAdd('2020-04-07 14:53:14Z', '-P9D')]", `"3/29/2020 2:53:14 PM"`},
		{"dateTimeAdd hour", "[dateTimeAdd('2020-04-07 14:53:14Z', 'PT1H')]", `"4/7/2020 3:53:14 PM"`},
		{"dateTimeAdd with format", "[dateTimeAdd('2020-04-07T14:53:14Z', 'P1D', 'yyyy-MM-ddTHH:mm:ssZ')]", `"2020-04-08T14:53:14Z"`},
		{"dateTimeAdd month clamps", "[dateTimeAdd('2020-01-31T00:00:00Z', 'P1M', 'yyyy-MM-dd')]", `"2020-02-29"`},
		{"dateTimeFromEpoch", "[dateTimeFromEpoch(1683040573)]", `"2023-05-02T15:16:13Z"`},
		{"dateTimeToEpoch", "[dateTimeToEpoch('2023-05-02T15:16:13Z')]", `1683040573`},
		{"epoch round trip", "[dateTimeToEpoch(dateTimeFromEpoch(1))]", `1`},
	})
	runErrCases(t, []errCase{
		{"bad duration", "[dateTimeAdd('2020-04-07T14:53:14Z', '1D')]", "is not a valid ISO 8601 duration", 1},
		{"bad base time", "[dateTimeAdd('yesterday', 'P1D')]", "is not a valid date and time", 1},
	})
	if _, err := EvalString("[utcNow()]", &Context{}); err == nil {
		t.Error("utcNow without a clock should fail")
	}
}

func TestLambdaFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"filter", "[filter(parameters('dogs'), lambda('dog', greaterOrEquals(lambdaVariables('dog').age, 5)))]",
			`[{"name":"Evie","age":5,"interests":["Ball","Frisbee"]},{"name":"Kira","age":8,"interests":["Rubs"]}]`},
		{"filter range", "[filter(range(0, 10), lambda('i', and(greater(lambdaVariables('i'), 3), less(lambdaVariables('i'), 6))))]", `[4,5]`},
		{"filter with index", "[filter(createArray('a', 'b', 'c'), lambda('x', 'i', not(equals(lambdaVariables('i'), 1))))]", `["a","c"]`},
		{"map", "[map(parameters('dogs'), lambda('dog', lambdaVariables('dog').name))]", `["Evie","Casper","Indy","Kira"]`},
		{"map object", "[map(range(0, 2), lambda('i', createObject('i', lambdaVariables('i'), 'dog', parameters('dogs')[lambdaVariables('i')].name)))]", `[{"i":0,"dog":"Evie"},{"i":1,"dog":"Casper"}]`},
		{"map with index", "[map(createArray('a', 'b'), lambda('x', 'i', format('{0}{1}', lambdaVariables('x'), lambdaVariables('i'))))]", `["a0","b1"]`},
		{"nested lambdas see outer variables", "[map(range(0, 2), lambda('i', map(range(0, 2), lambda('j', add(mul(lambdaVariables('i'), 10), lambdaVariables('j'))))))]", `[[0,1],[10,11]]`},
		{"reduce", "[reduce(map(parameters('dogs'), lambda('dog', lambdaVariables('dog').age)), 0, lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))]", `18`},
		{"reduce objects", "[reduce(createArray(createObject('a', 1), createObject('b', 2)), createObject(), lambda('cur', 'next', union(lambdaVariables('cur'), lambdaVariables('next'))))]", `{"a":1,"b":2}`},
		{"sort", "[map(sort(parameters('dogs'), lambda('a', 'b', less(lambdaVariables('a').age, lambdaVariables('b').age))), lambda('d', lambdaVariables('d').name))]", `["Indy","Casper","Evie","Kira"]`},
		{"toObject", "[toObject(parameters('dogs'), lambda('entry', lambdaVariables('entry').name), lambda('entry', lambdaVariables('entry').age))]", `{"Evie":5,"Casper":3,"Indy":2,"Kira":8}`},
		{"toObject whole entries", "[toObject(createArray(createObject('name', 'a', 'v', 1)), lambda('e', lambdaVariables('e').name))]", `{"a":{"name":"a","v":1}}`},
		{"groupBy", "[groupBy(createArray('foo', 'bar', 'baz'), lambda('x', substring(lambdaVariables('x'), 0, 1)))]", `{"f":["foo"],"b":["bar","baz"]}`},
		{"mapValues", "[mapValues(createObject('foo', 'foo'), lambda('val', toUpper(lambdaVariables('val'))))]", `{"foo":"FOO"}`},
	})
	runErrCases(t, []errCase{
		{"lambda outside a lambda function", "[lambda('x', 1)]", "can only be used as a parameter", 1},
		{"lambda as an ordinary argument", "[length(lambda('x', 1))]", "can only be used as a parameter", 8},
		{"unknown lambda variable", "[map(createArray(1), lambda('x', lambdaVariables('y')))]", "refers to 'y'", 33},
		{"filter must return a boolean", "[filter(createArray(1), lambda('x', 1))]", "must return a boolean", 1},
		{"map needs a lambda", "[map(createArray(1), 1)]", "to be a lambda function", 1},
	})
}

func TestCIDRFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"parseCidr IPv4", "[parseCidr('10.144.0.0/20')]", `{"network":"10.144.0.0","netmask":"255.255.240.0","broadcast":"10.144.15.255","firstUsable":"10.144.0.1","lastUsable":"10.144.15.254","cidr":20}`},
		{"parseCidr IPv6", "[parseCidr('::/64')]", `{"network":"::","netmask":"ffff:ffff:ffff:ffff::","firstUsable":"::","lastUsable":"::ffff:ffff:ffff:ffff","cidr":64}`},
		{"cidrSubnet first", "[cidrSubnet('10.144.0.0/20', 24, 0)]", `"10.144.0.0/24"`},
		{"cidrSubnet fourth", "[cidrSubnet('10.144.0.0/20', 24, 4)]", `"10.144.4.0/24"`},
		{"cidrSubnet loop", "[map(range(0, 3), lambda('i', cidrSubnet('10.144.0.0/20', 24, lambdaVariables('i'))))]", `["10.144.0.0/24","10.144.1.0/24","10.144.2.0/24"]`},
		{"cidrSubnet IPv6", "[cidrSubnet('::/64', 120, 1)]", `"::100/120"`},
		{"cidrHost", "[cidrHost('10.144.3.0/24', 0)]", `"10.144.3.1"`},
		{"cidrHost loop", "[map(range(0, 5), lambda('i', cidrHost('10.144.3.0/24', lambdaVariables('i'))))]", `["10.144.3.1","10.144.3.2","10.144.3.3","10.144.3.4","10.144.3.5"]`},
		{"cidrHost IPv6", "[cidrHost('::/64', 1)]", `"::1"`},
	})
	runErrCases(t, []errCase{
		{"invalid network", "[parseCidr('10.0.0.0')]", "is not a valid CIDR network", 1},
		{"subnet index out of range", "[cidrSubnet('10.144.0.0/20', 24, 16)]", "out of range", 1},
		{"subnet larger than network", "[cidrSubnet('10.144.0.0/20', 16, 0)]", "must be between", 1},
		{"host out of range", "[cidrHost('10.144.3.0/24', 254)]", "out of range", 1},
	})
}
