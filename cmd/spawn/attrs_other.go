//go:build !linux

package main

import "github.com/gospawn/spawn"

// attrGroups are the options that set the child's attributes: none where
// the library cannot start processes.
var attrGroups []optionGroup

func finishCmd(cfg *config, cmd *spawn.Cmd) error { return nil }
