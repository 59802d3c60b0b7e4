package main

import (
	"fmt"
	"strconv"
)

// offender int80 NR [ARG1 [ARG2]]: see generic_attacks.go.
func init() {
	oneShots["int80"] = func(args []string) {
		if len(args) < 1 || len(args) > 3 {
			fail("usage: offender int80 NR [ARG1 [ARG2]]")
		}
		var v [3]uint32
		for i, a := range args {
			n, err := strconv.ParseUint(a, 0, 32)
			if err != nil {
				fail("bad number %q", a)
			}
			v[i] = uint32(n)
		}
		ret := int32(int80(v[0], v[1], v[2]))
		errno := 0
		if ret < 0 {
			errno = int(-ret)
		}
		fmt.Printf("ret=%d errno=%d\n", ret, errno)
	}
}
