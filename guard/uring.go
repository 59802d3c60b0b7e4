package guard

import (
	"strconv"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// The io_uring hooks read their tracepoints' arguments by position, and
// the tracepoints changed shape over the years (io_uring_complete took the
// result as an integer before it took the completion entry). They attach
// only where the kernel's BTF shows the shape they were written for:
// io_uring_complete(ctx, req, cqe) and io_uring_file_get(req, fd).
var uringShapes = []struct {
	typedef string
	params  []string // the C type names of the arguments after the void *
}{
	{"btf_trace_io_uring_complete", []string{"io_ring_ctx", "", "io_uring_cqe"}},
	{"btf_trace_io_uring_file_get", []string{"io_kiocb", "int"}},
}

var uringMissing = sync.OnceValue(func() string {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return "the kernel's BTF cannot be read: " + err.Error()
	}
	for _, want := range uringShapes {
		if !hasShape(spec, want.typedef, want.params) {
			return "this kernel has no io_uring tracepoint " + want.typedef[len("btf_trace_"):] +
				" of the shape sigguard reads (CONFIG_IO_URING off, or an older kernel)"
		}
	}
	return ""
})

// hasShape reports whether typedef is a tracepoint prototype whose
// arguments after the first point to, or are, the named types ("" for any).
func hasShape(spec *btf.Spec, typedef string, params []string) bool {
	var td *btf.Typedef
	if err := spec.TypeByName(typedef, &td); err != nil {
		return false
	}
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return false
	}
	proto, ok := ptr.Target.(*btf.FuncProto)
	if !ok || len(proto.Params) != len(params)+1 {
		return false
	}
	for i, name := range params {
		if name != "" && typeName(proto.Params[i+1].Type) != name {
			return false
		}
	}
	return true
}

// typeName names a type, or what a pointer points to.
func typeName(t btf.Type) string {
	if p, ok := t.(*btf.Pointer); ok {
		t = p.Target
	}
	return t.TypeName()
}

// missingHook says why the kernel cannot hook route s ("" when it can).
func missingHook(s Syscall) string {
	if s == SyscallIoUring {
		return uringMissing()
	}
	return ""
}

// Opcodes of include/uapi/linux/io_uring.h that can reach /proc/<pid>/mem
// through a descriptor, and the opens.
var uringOps = map[int64]string{
	1: "IORING_OP_READV", 2: "IORING_OP_WRITEV", 4: "IORING_OP_READ_FIXED", 5: "IORING_OP_WRITE_FIXED",
	18: "IORING_OP_OPENAT", 22: "IORING_OP_READ", 23: "IORING_OP_WRITE", 28: "IORING_OP_OPENAT2",
	30: "IORING_OP_SPLICE", 33: "IORING_OP_TEE",
}

// IoUringOpName names an io_uring opcode, or gives its number.
func IoUringOpName(op int64) string {
	if name, ok := uringOps[op]; ok {
		return name
	}
	return "IORING_OP_" + strconv.FormatInt(op, 10)
}
