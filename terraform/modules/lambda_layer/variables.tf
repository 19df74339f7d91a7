variable "layer_name" {
  description = "Name of the layer (each publish adds a version under this name)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.layer_name))
    error_message = "layer_name must be 1-64 characters of [a-zA-Z0-9_-]."
  }
}

variable "zip_path" {
  description = "Path of the layer zip built by `make package` (python/ at its root), e.g. build/python3.12/layer.zip."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "zip_path must name a .zip file (build it with `make package`)."
  }
}

variable "compatible_runtimes" {
  description = "Lambda runtimes the layer was built for (its wheels are built for one Python version): the functions' runtime."
  type        = list(string)

  validation {
    condition     = length(var.compatible_runtimes) >= 1 && length(var.compatible_runtimes) <= 15 && alltrue([for r in var.compatible_runtimes : can(regex("^python3\\.[0-9]+$", r))])
    error_message = "compatible_runtimes must list 1-15 Python runtimes such as python3.12."
  }
}

variable "description" {
  description = "Description of the layer version."
  type        = string
  default     = "AutoNinja persistence library (autoninja) and its pinned runtime dependencies"

  validation {
    condition     = length(var.description) <= 256
    error_message = "description must be at most 256 characters."
  }
}

variable "license_info" {
  description = "License of the layer's content (SPDX identifier or URL), or null."
  type        = string
  default     = null

  validation {
    condition     = var.license_info == null || length(coalesce(var.license_info, "x")) <= 512
    error_message = "license_info must be at most 512 characters."
  }
}
