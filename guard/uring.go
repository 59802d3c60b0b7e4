package guard

import (
	"strconv"
	"sync"

	"github.com/cilium/ebpf/btf"

	"github.com/sigguard/sigguard/internal/bpf"
)

// The io_uring hooks read their tracepoints' arguments by position, and
// the tracepoints changed shape over the years: io_uring_complete passes
// the completion entry on newer kernels, the result as an integer on
// older ones (6.12 among them), and had no request at all before that.
// Each program attaches only where the kernel's BTF shows the shape it
// was written for.
type uringShape struct {
	program string
	typedef string
	params  []string // the C type names of the arguments after the void *; "" for any
}

var (
	completeShapes = []uringShape{
		{bpf.GuardProgSgUringComplete, "btf_trace_io_uring_complete", []string{"io_ring_ctx", "", "io_uring_cqe"}},
		{bpf.GuardProgSgUringCompleteRes, "btf_trace_io_uring_complete", []string{"", "", "u64", "int", "unsigned int", "u64", "u64"}},
	}
	fileGetShape = uringShape{bpf.GuardProgSgUringFileGet, "btf_trace_io_uring_file_get", []string{"io_kiocb", "int"}}
)

// uringKernel is what the kernel's BTF says about io_uring. It is read
// once and from one parse: the parsed BTF is several MiB once looked up,
// and the guard does not keep it.
var uringKernel = sync.OnceValue(func() uringSupport {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return uringSupport{why: "the kernel's BTF cannot be read: " + err.Error()}
	}
	var fn *btf.Func
	u := uringSupport{native: spec.TypeByName("create_io_thread", &fn) == nil}
	var complete string
	for _, shape := range completeShapes {
		if hasShape(spec, shape) {
			complete = shape.program
			break
		}
	}
	if complete == "" || !hasShape(spec, fileGetShape) {
		u.why = "this kernel has no io_uring tracepoints of a shape sigguard reads (CONFIG_IO_URING off, or an old kernel)"
		return u
	}
	u.programs = []string{complete, fileGetShape.program}
	return u
})

type uringSupport struct {
	programs []string // the io_uring programs for this kernel
	why      string   // why there are none
	native   bool     // see uringNative
}

// uringPrograms are the io_uring programs for this kernel, or why there
// are none.
func uringPrograms() ([]string, string) {
	u := uringKernel()
	return u.programs, u.why
}

// hasShape reports whether the shape's typedef is a tracepoint prototype
// whose arguments after the first point to, or are, the named types.
func hasShape(spec *btf.Spec, shape uringShape) bool {
	var td *btf.Typedef
	if err := spec.TypeByName(shape.typedef, &td); err != nil {
		return false
	}
	return matches(td, shape.params)
}

func matches(td *btf.Typedef, params []string) bool {
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

// uringNative reports whether io_uring's workers are threads of the ring
// owner's process (Linux 5.12, which brought create_io_thread). Before,
// they were kernel threads: an open they make is neither the caller's to
// match nor to signal, in any tier. Without BTF, it says no.
func uringNative() bool { return uringKernel().native }

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
