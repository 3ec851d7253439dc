package expr

import (
	"math/big"
	"net/netip"
)

// CIDR functions (Azure docs, "CIDR functions for ARM templates"):
// parseCidr describes a network, cidrSubnet carves a smaller one out of it,
// cidrHost picks a usable host address. IPv4 networks reserve their first
// and last address (network and broadcast); IPv6 ones do not.

func init() {
	fn("cidr", "parseCidr", 1, 1, fnParseCIDR)
	fn("cidr", "cidrSubnet", 3, 3, fnCIDRSubnet)
	fn("cidr", "cidrHost", 2, 2, fnCIDRHost)
}

const cidrHelp = "https://aka.ms/arm-functions#cidr"

func parseNetwork(name, s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Zone() != "" {
		return netip.Prefix{}, fnError(name, "the value '%s' is not a valid CIDR network. Please see %s for usage details.", s, cidrHelp)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fnError(name, "the value '%s' is not a valid CIDR network. Please see %s for usage details.", s, cidrHelp)
	}
	return p.Masked(), nil
}

func addrInt(a netip.Addr) *big.Int {
	b := a.AsSlice()
	return new(big.Int).SetBytes(b)
}

func intAddr(v *big.Int, is4 bool) netip.Addr {
	n := 16
	if is4 {
		n = 4
	}
	buf := make([]byte, n)
	v.FillBytes(buf)
	a, _ := netip.AddrFromSlice(buf)
	return a
}

func bitsOf(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 32
	}
	return 128
}

// lastAddr is the highest address in p.
func lastAddr(p netip.Prefix) *big.Int {
	host := uint(bitsOf(p) - p.Bits())
	span := new(big.Int).Lsh(big.NewInt(1), host)
	return span.Add(span, addrInt(p.Addr())).Sub(span, big.NewInt(1))
}

func usableRange(p netip.Prefix) (first, last *big.Int) {
	first, last = addrInt(p.Addr()), lastAddr(p)
	if p.Addr().Is4() && p.Bits() < 31 {
		first = new(big.Int).Add(first, big.NewInt(1))
		last = new(big.Int).Sub(last, big.NewInt(1))
	}
	return first, last
}

func fnParseCIDR(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	p, err := parseNetwork(name, s)
	if err != nil {
		return nil, err
	}
	is4 := p.Addr().Is4()
	maskBits := new(big.Int).Lsh(big.NewInt(1), uint(bitsOf(p)))
	maskBits.Sub(maskBits, new(big.Int).Lsh(big.NewInt(1), uint(bitsOf(p)-p.Bits())))
	first, last := usableRange(p)
	o := NewObject(6)
	o.Set("network", p.Addr().String())
	o.Set("netmask", intAddr(maskBits, is4).String())
	if is4 {
		o.Set("broadcast", intAddr(lastAddr(p), true).String())
	}
	o.Set("firstUsable", intAddr(first, is4).String())
	o.Set("lastUsable", intAddr(last, is4).String())
	o.Set("cidr", int64(p.Bits()))
	return o, nil
}

func fnCIDRSubnet(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	newBits, err := argInt(name, 1, args[1])
	if err != nil {
		return nil, err
	}
	index, err := argInt(name, 2, args[2])
	if err != nil {
		return nil, err
	}
	p, err := parseNetwork(name, s)
	if err != nil {
		return nil, err
	}
	if newBits < int64(p.Bits()) || newBits > int64(bitsOf(p)) {
		return nil, fnError(name, "the new CIDR '%d' must be between the network's prefix length '%d' and '%d'. Please see %s for usage details.", newBits, p.Bits(), bitsOf(p), cidrHelp)
	}
	count := new(big.Int).Lsh(big.NewInt(1), uint(newBits)-uint(p.Bits()))
	if index < 0 || big.NewInt(index).Cmp(count) >= 0 {
		return nil, fnError(name, "the subnet index '%d' is out of range for a /%d network split into /%d subnets. Please see %s for usage details.", index, p.Bits(), newBits, cidrHelp)
	}
	off := new(big.Int).Lsh(big.NewInt(index), uint(int64(bitsOf(p))-newBits))
	start := off.Add(off, addrInt(p.Addr()))
	return netip.PrefixFrom(intAddr(start, p.Addr().Is4()), int(newBits)).String(), nil
}

func fnCIDRHost(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	index, err := argInt(name, 1, args[1])
	if err != nil {
		return nil, err
	}
	p, err := parseNetwork(name, s)
	if err != nil {
		return nil, err
	}
	first, last := usableRange(p)
	host := new(big.Int).Add(first, big.NewInt(index))
	if index < 0 || host.Cmp(last) > 0 {
		return nil, fnError(name, "the host index '%d' is out of range for the network '%s'. Please see %s for usage details.", index, s, cidrHelp)
	}
	return intAddr(host, p.Addr().Is4()).String(), nil
}
