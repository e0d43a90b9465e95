module github.com/gospawn/spawn/bench

go 1.26.8

require github.com/gospawn/spawn v0.0.0-00010101000000-000000000000

require golang.org/x/sys v0.50.0 // indirect

replace github.com/gospawn/spawn => ../
