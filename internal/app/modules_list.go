package app

// modules are the business capabilities, in dependency order.
var modules = []Module{}
