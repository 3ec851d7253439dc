package bicep

// The syntax tree. Every node keeps the position it starts at; statements
// keep their decorators. The tree is what the parser saw: names are not
// resolved here (see binder.go).

// File is a parsed .bicep or .bicepparam file.
type File struct {
	Path       string
	Statements []Stmt
	Params     bool // a .bicepparam file
}

// Node is any syntax tree node.
type Node interface{ Position() Pos }

// Stmt is a top-level statement.
type Stmt interface {
	Node
	stmt()
}

// Decorator is @name(args) or @ns.name(args) before a statement, an object
// type property or a type.
type Decorator struct {
	Pos       Pos
	Namespace string
	Name      string
	Args      []Expr
}

type stmtBase struct {
	Pos        Pos
	Decorators []*Decorator
	NamePos    Pos
}

func (s *stmtBase) Position() Pos { return s.Pos }
func (s *stmtBase) stmt()         {}

// TargetScopeStmt is targetScope = 'subscription'.
type TargetScopeStmt struct {
	stmtBase
	Value Expr
}

// MetadataStmt is metadata name = value.
type MetadataStmt struct {
	stmtBase
	Name  string
	Value Expr
}

// ParamStmt is param name type [= default]; in a .bicepparam file it is
// param name = value (Type nil).
type ParamStmt struct {
	stmtBase
	Name    string
	Type    TypeExpr
	Default Expr
}

// VarStmt is var name [type] = value.
type VarStmt struct {
	stmtBase
	Name  string
	Type  TypeExpr
	Value Expr
}

// ResourceStmt is resource name 'type@version' [existing] = body, where
// body is an object, an IfExpr or a ForExpr. Nested resources are
// ResourceStmts inside the body object (ObjectLit.Resources).
type ResourceStmt struct {
	stmtBase
	Name     string
	Type     string
	TypePos  Pos
	Existing bool
	Value    Expr
}

// ModuleStmt is module name 'path' = body.
type ModuleStmt struct {
	stmtBase
	Name    string
	Path    string
	PathPos Pos
	Value   Expr
}

// OutputStmt is output name type = value.
type OutputStmt struct {
	stmtBase
	Name  string
	Type  TypeExpr
	Value Expr
}

// TypeStmt is type name = typeExpr.
type TypeStmt struct {
	stmtBase
	Name  string
	Value TypeExpr
}

// FuncStmt is func name(params) outputType => body.
type FuncStmt struct {
	stmtBase
	Name   string
	Params []*FuncParam
	Output TypeExpr
	Body   Expr
}

// FuncParam is one typed parameter of a user-defined function.
type FuncParam struct {
	Pos  Pos
	Name string
	Type TypeExpr
}

// ImportStmt is import {a, b as c} from 'path', import * as ns from
// 'path', or an extension/provider import (Extension set).
type ImportStmt struct {
	stmtBase
	Items     []*ImportItem // nil for a wildcard
	Wildcard  string        // alias of import * as alias
	From      string
	FromPos   Pos
	Extension bool
}

// ImportItem is one name of import {...}.
type ImportItem struct {
	Pos   Pos
	Name  string
	Alias string
}

// UsingStmt is using 'main.bicep' in a .bicepparam file.
type UsingStmt struct {
	stmtBase
	Path    string
	PathPos Pos
	None    bool // using none
}

// UnsupportedStmt is a statement the compiler recognises but does not
// compile (assert, test, extension config); a diagnostic says so.
type UnsupportedStmt struct {
	stmtBase
	Keyword string
}

// Expr is an expression.
type Expr interface {
	Node
	expr()
}

type exprBase struct{ Pos Pos }

func (e *exprBase) Position() Pos { return e.Pos }
func (e *exprBase) expr()         {}

type (
	// Ident is a name: a parameter, variable, resource, module, local or
	// function parameter.
	Ident struct {
		exprBase
		Name string
	}
	// StringLit is a string without interpolation (also ''' strings).
	StringLit struct {
		exprBase
		Value string
	}
	// InterpString is 'a${x}b': len(Segments) == len(Exprs)+1.
	InterpString struct {
		exprBase
		Segments []string
		Exprs    []Expr
	}
	// IntLit is a non-negative integer literal.
	IntLit struct {
		exprBase
		Value int64
		Text  string
	}
	BoolLit struct {
		exprBase
		Value bool
	}
	NullLit struct{ exprBase }
	// ObjectLit is { key: value ... }; Resources holds nested resource
	// declarations in a resource body.
	ObjectLit struct {
		exprBase
		Props     []*Property
		Resources []*ResourceStmt
	}
	// ArrayLit is [a, b, ...].
	ArrayLit struct {
		exprBase
		Items []Expr
	}
	// SpreadExpr is ...x inside an object or array literal.
	SpreadExpr struct {
		exprBase
		X Expr
	}
	// ForExpr is [for item in iterable: body] or [for (item, index) in ...].
	ForExpr struct {
		exprBase
		Item, Index       string
		ItemPos, IndexPos Pos
		Iterable          Expr
		Body              Expr
	}
	// IfExpr is if (cond) body, only as a resource or module body.
	IfExpr struct {
		exprBase
		Cond Expr
		Body Expr
	}
	UnaryExpr struct {
		exprBase
		Op string
		X  Expr
	}
	BinaryExpr struct {
		exprBase
		Op   string
		X, Y Expr
	}
	TernaryExpr struct {
		exprBase
		Cond, Then, Else Expr
	}
	// PropertyAccess is x.name or x.?name.
	PropertyAccess struct {
		exprBase
		X       Expr
		Name    string
		NamePos Pos
		Safe    bool
	}
	// IndexAccess is x[i] or x[?i].
	IndexAccess struct {
		exprBase
		X, Index Expr
		Safe     bool
	}
	// ResourceAccess is parent::child.
	ResourceAccess struct {
		exprBase
		X    Expr
		Name string
	}
	// NonNullAssert is x!.
	NonNullAssert struct {
		exprBase
		X Expr
	}
	// CallExpr is f(args), ns.f(args) or x.f(args) (instance call on a
	// resource: Receiver set).
	CallExpr struct {
		exprBase
		Receiver Expr // namespace or resource expression, nil for a bare call
		Name     string
		NamePos  Pos
		Args     []Expr
	}
	// LambdaExpr is x => body or (x, y) => body.
	LambdaExpr struct {
		exprBase
		Params    []string
		ParamPos  []Pos
		Body      Expr
		ParamType []TypeExpr // typed lambdas in func declarations; nil otherwise
	}
	ParenExpr struct {
		exprBase
		X Expr
	}
	// BadExpr stands where the parser could not read an expression.
	BadExpr struct{ exprBase }
)

// Property is one member of an object literal.
type Property struct {
	Pos        Pos
	Key        string // literal key
	KeyExpr    Expr   // interpolated key, or nil
	Value      Expr
	Spread     bool // ...x (Value is the spread operand)
	Decorators []*Decorator
}

// TypeExpr is a type expression.
type TypeExpr interface {
	Node
	typeExpr()
}

type typeBase struct{ Pos Pos }

func (t *typeBase) Position() Pos { return t.Pos }
func (t *typeBase) typeExpr()     {}

type (
	// TypeRef is string, int, myType, ns.myType or sys.string.
	TypeRef struct {
		typeBase
		Namespace string
		Name      string
	}
	// TypeLiteral is 'a', 1, true, false or null as a type.
	TypeLiteral struct {
		typeBase
		Value Expr
	}
	TypeObject struct {
		typeBase
		Props      []*TypeProp
		Additional TypeExpr // *: T
		AddDecos   []*Decorator
	}
	TypeProp struct {
		Pos        Pos
		Name       string
		Type       TypeExpr
		Decorators []*Decorator
	}
	TypeArray struct {
		typeBase
		Elem TypeExpr
	}
	TypeTuple struct {
		typeBase
		Items []TypeExpr
		Decos [][]*Decorator
	}
	TypeUnion struct {
		typeBase
		Members []TypeExpr
	}
	TypeNullable struct {
		typeBase
		X TypeExpr
	}
	// TypeResource is resource<'type@version'> or resourceInput/Output<...>;
	// the official compiler needs the type library for these.
	TypeResource struct {
		typeBase
		Keyword string
		Type    string
	}
	TypeParen struct {
		typeBase
		X TypeExpr
	}
	// TypeAccess is a part of another type: T.prop, T.* (additional
	// properties), T[*] (array items) or T[n] (a tuple item).
	TypeAccess struct {
		typeBase
		X     TypeExpr
		Kind  string // "prop", "*", "[*]", "[n]"
		Prop  string
		Index int64
	}
	// TypeNonNull is T!.
	TypeNonNull struct {
		typeBase
		X TypeExpr
	}
)
