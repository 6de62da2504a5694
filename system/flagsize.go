package system

// Size is a size in bytes as a flag value: set as ParseBytes reads it
// (64m, 64MiB, 64MB), shown as FormatBytes writes it.
type Size int64

// String implements pflag.Value.
func (b *Size) String() string { return FormatBytes(int64(*b)) }

// Type implements pflag.Value; help shows it as the flag's argument.
func (b *Size) Type() string { return "size" }

// Set implements pflag.Value.
func (b *Size) Set(s string) error {
	n, err := ParseBytes(s)
	if err != nil {
		return err
	}
	*b = Size(n)
	return nil
}
